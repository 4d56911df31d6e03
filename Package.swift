// swift-tools-version: 6.1
import PackageDescription

let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let nioConcurrency = Target.Dependency.product(name: "NIOConcurrencyHelpers", package: "swift-nio")
let nioSSL = Target.Dependency.product(name: "NIOSSL", package: "swift-nio-ssl")

let package = Package(
    name: "Vigil",
    products: [
        .executable(name: "vigild", targets: ["vigild"]),
        .executable(name: "vigilctl", targets: ["vigilctl"]),
        // Developer tool: programs IPVS from a keepalived.conf without vigild (the kernel lab uses it).
        .executable(name: "vigil-ipvs", targets: ["vigil-ipvs"]),
        // Developer tool: one step of the configuration path, in process, for timing and callgrind.
        .executable(name: "vigil-microbench", targets: ["vigil-microbench"]),
        // libFuzzer targets, built only with `scripts/fuzz` (swift build --product X --sanitize=fuzzer); a plain
        // build replays inputs given as files.
        .executable(name: "ConfigFuzzer", targets: ["ConfigFuzzer"]),
        .executable(name: "VRRPFuzzer", targets: ["VRRPFuzzer"]),
        .executable(name: "NetlinkFuzzer", targets: ["NetlinkFuzzer"]),
        .executable(name: "HTTPFuzzer", targets: ["HTTPFuzzer"]),
        .executable(name: "DNSFuzzer", targets: ["DNSFuzzer"]),
        .executable(name: "SMTPFuzzer", targets: ["SMTPFuzzer"]),
        .executable(name: "FrameFuzzer", targets: ["FrameFuzzer"]),
        .executable(name: "MetricsHTTPFuzzer", targets: ["MetricsHTTPFuzzer"]),
        .executable(name: "BFDFuzzer", targets: ["BFDFuzzer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // MARK: C libraries and the one C shim
        .systemLibrary(
            name: "CNetlink",
            pkgConfig: "libnl-genl-3.0",
            providers: [.apt(["libnl-3-dev", "libnl-route-3-dev", "libnl-genl-3-dev"])]
        ),
        /// The kernel's nftables and nfnetlink headers (linux-libc-dev): constants only, nothing linked.
        .systemLibrary(name: "CNftables", providers: [.apt(["linux-libc-dev"])]),
        .systemLibrary(
            name: "CLibcap",
            pkgConfig: "libcap",
            providers: [.apt(["libcap-dev"])]
        ),
        .target(name: "CVigilShim"),

        // MARK: Pure cores and thin shells
        /// The keepalived.conf(5) language: reader, preprocessor, schema, typed model.
        .target(name: "Config"),
        /// Netlink sockets (libnl) and the attribute codec shared by rtnetlink and generic netlink users; the
        /// nftables batches of keepalived's no-accept filter, built with that codec.
        .target(name: "Netlink", dependencies: ["CNetlink", "CNftables", "Config"]),
        /// Messages between the watchdog and its workers, and of the control socket.
        .target(name: "WorkerIPC", dependencies: ["Config", "CVigilShim", logging]),
        /// What both workers run outside themselves: notify scripts and MISC_CHECK / vrrp_script programs
        /// (as `script_user`, with timeouts), `notify_fifo` lines and `smtp_alert` mail.
        .target(name: "Notifier", dependencies: ["Config", "CVigilShim", logging, nioCore, nioPosix]),
        /// MD5 and HMAC-MD5: HTTP_GET's `digest`, VRRP's `auth_type AH`.
        .target(name: "Digest"),
        /// Virtual services and real servers in the kernel's IPVS, over generic netlink.
        .target(name: "IPVSShim", dependencies: ["Config", "Netlink"]),
        /// VRRP (RFC 3768 / RFC 5798): codec, state machine, sockets, VIPs.
        .target(
            name: "VRRPWorker",
            dependencies: [
                "Config", "Netlink", "WorkerIPC", "Notifier", "CVigilShim", "Digest", logging, nioCore, nioPosix,
                nioConcurrency,
            ]
        ),
        /// Health checkers driving the IPVS shim.
        .target(
            name: "CheckerWorker",
            dependencies: [
                "Config", "IPVSShim", "Netlink", "WorkerIPC", "Notifier", "CVigilShim", "Digest", logging, nioCore,
                nioPosix, nioSSL, nioConcurrency,
            ]
        ),
        /// What monitoring reads (pure): Prometheus metrics, the status page and JSON, and the HTTP requests for them.
        .target(name: "Monitoring", dependencies: ["Config", "WorkerIPC"]),
        /// BFD (RFC 5880 / 5881 / 5883): codec, session state machine, sockets.
        .target(name: "BFDWorker", dependencies: ["Config", "WorkerIPC", "CVigilShim", logging, nioCore, nioPosix]),
        /// The parent process: spawns, supervises and restarts the workers.
        .target(
            name: "Watchdog",
            dependencies: [
                "Config", "Netlink", "WorkerIPC", "Monitoring", "Notifier", "CLibcap", "CVigilShim", logging,
            ]),

        // MARK: Executables (thin: argument parsing and a call into a module)
        .executableTarget(
            name: "vigild",
            dependencies: [
                "Config", "Watchdog", "WorkerIPC", "VRRPWorker", "CheckerWorker", "BFDWorker", "Notifier",
                argumentParser,
                logging,
            ]
        ),
        .executableTarget(
            name: "vigilctl", dependencies: ["Config", "Netlink", "WorkerIPC", "IPVSShim", argumentParser]),
        .executableTarget(name: "vigil-ipvs", dependencies: ["Config", "IPVSShim", argumentParser]),
        .executableTarget(
            name: "vigil-microbench",
            dependencies: ["Config", "WorkerIPC", "CheckerWorker", "IPVSShim", "Netlink", "CVigilShim"],
            path: "Benchmarks/Micro"),

        // MARK: Fuzz targets (scripts/fuzz)
        /// Replaying inputs outside libFuzzer, and splitting one input into datagrams.
        .target(name: "FuzzSupport", path: "Fuzz/FuzzSupport"),
        .executableTarget(name: "ConfigFuzzer", dependencies: ["Config", "FuzzSupport"], path: "Fuzz/ConfigFuzzer"),
        .executableTarget(
            name: "VRRPFuzzer", dependencies: ["Config", "VRRPWorker", "FuzzSupport"], path: "Fuzz/VRRPFuzzer"),
        .executableTarget(
            name: "NetlinkFuzzer", dependencies: ["Config", "Netlink", "IPVSShim", "FuzzSupport"],
            path: "Fuzz/NetlinkFuzzer"),
        .executableTarget(name: "HTTPFuzzer", dependencies: ["CheckerWorker", "FuzzSupport"], path: "Fuzz/HTTPFuzzer"),
        .executableTarget(
            name: "DNSFuzzer", dependencies: ["Config", "CheckerWorker", "FuzzSupport"], path: "Fuzz/DNSFuzzer"),
        .executableTarget(name: "SMTPFuzzer", dependencies: ["CheckerWorker", "FuzzSupport"], path: "Fuzz/SMTPFuzzer"),
        .executableTarget(name: "FrameFuzzer", dependencies: ["WorkerIPC", "FuzzSupport"], path: "Fuzz/FrameFuzzer"),
        .executableTarget(
            name: "MetricsHTTPFuzzer", dependencies: ["Monitoring", "FuzzSupport"], path: "Fuzz/MetricsHTTPFuzzer"),
        .executableTarget(
            name: "BFDFuzzer", dependencies: ["BFDWorker", "WorkerIPC", "FuzzSupport", "TestSupport"],
            path: "Fuzz/BFDFuzzer"),

        // MARK: Tests
        .testTarget(name: "ConfigTests", dependencies: ["Config", "CIndexStore"], resources: [.copy("Fixtures")]),
        /// The compiler's index store read through libIndexStore (loaded at run time): the keyword guard
        /// test finds who reads each model field with it.
        .target(name: "CIndexStore", path: "Tests/CIndexStore"),
        /// Runs the built `vigild` and `vigilctl` binaries as an operator would.
        .testTarget(name: "VigildTests", dependencies: ["vigild", "vigilctl"]),
        /// Helpers shared by the unit-test targets (the repository root, a log that captures its messages).
        .target(name: "TestSupport", dependencies: [logging], path: "Tests/TestSupport"),
        .testTarget(name: "IPVSShimTests", dependencies: ["IPVSShim", "Netlink", "TestSupport"]),
        .testTarget(name: "VRRPWorkerTests", dependencies: ["VRRPWorker", "TestSupport"]),
        .testTarget(name: "DigestTests", dependencies: ["Digest"]),
        .testTarget(name: "BFDWorkerTests", dependencies: ["BFDWorker", "TestSupport"]),
        /// Root: rtnetlink addresses, routes, link events, GARP/NA and the no-accept filter's nftables in namespaces the
        /// tests create; without root, the filter's batches against the bytes libnftnl built (Fixtures).
        .testTarget(
            name: "NetlinkTests", dependencies: ["Netlink", "VRRPWorker", "Config"], exclude: ["Fixtures"]),
        .testTarget(
            name: "CheckerWorkerTests",
            dependencies: [
                "CheckerWorker", "IPVSShim", "TestSupport", "CVigilShim",
            ]
        ),
        .testTarget(name: "NotifierTests", dependencies: ["Notifier", "TestSupport"]),
        .testTarget(
            name: "WorkerIPCTests",
            dependencies: ["WorkerIPC", "TestSupport", logging]),
        .testTarget(name: "MonitoringTests", dependencies: ["Monitoring", "Config", "WorkerIPC"]),
        .testTarget(
            name: "WatchdogTests", dependencies: ["CVigilShim", "Watchdog", "WorkerIPC", "vigild", "vigilctl"]),
    ],
    swiftLanguageModes: [.v6]
)
