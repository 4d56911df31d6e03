import Testing

@testable import Monitoring

@Suite("Prometheus text exposition")
struct PrometheusTextTests {
    @Test("HELP, TYPE and samples, with label values escaped")
    func exposition() {
        var family = MetricFamily("vigil_example", .gauge, help: "An example\\with a\nnewline.")
        family.add(.integer(3), [("name", "a\"b\\c\nd")])
        family.add(.real(0.25))
        let text = [family, MetricFamily("vigil_empty", .counter, help: "No samples: left out.")].exposition()
        #expect(
            text == """
                # HELP vigil_example An example\\\\with a\\nnewline.
                # TYPE vigil_example gauge
                vigil_example{name="a\\"b\\\\c\\nd"} 3
                vigil_example 0.25

                """)
    }

    @Test("Values: exact integers, +Inf, -Inf, NaN, whole reals without a fraction")
    func values() {
        #expect(MetricValue.integer(UInt64.max).text == "18446744073709551615")
        #expect(MetricValue.signed(-5).text == "-5")
        #expect(MetricValue.real(.infinity).text == "+Inf")
        #expect(MetricValue.real(-.infinity).text == "-Inf")
        #expect(MetricValue.real(.nan).text == "NaN")
        #expect(MetricValue.real(2).text == "2")
        #expect(MetricValue.real(0.005).text == "0.005")
        #expect(MetricValue.real(1e-5).text == "1e-05")
    }

    @Test("A histogram from per-bucket counts is cumulative, with +Inf, _sum and _count")
    func histogram() {
        var family = MetricFamily("vigil_check_duration_seconds", .histogram, help: "h")
        family.addHistogram(bounds: [0.001, 0.01, 0.1], counts: [2, 0, 5, 1], sum: 0.75)
        let lines = [family].exposition().split(separator: "\n").dropFirst(2).map(String.init)
        #expect(
            lines == [
                "vigil_check_duration_seconds_bucket{le=\"0.001\"} 2",
                "vigil_check_duration_seconds_bucket{le=\"0.01\"} 2",
                "vigil_check_duration_seconds_bucket{le=\"0.1\"} 7",
                "vigil_check_duration_seconds_bucket{le=\"+Inf\"} 8",
                "vigil_check_duration_seconds_sum 0.75",
                "vigil_check_duration_seconds_count 8",
            ])
    }

    @Test("Names as Prometheus takes them")
    func names() {
        #expect(MetricFamily.isValidName("keepalived_vrrp_state"))
        #expect(MetricFamily.isValidName("a:b"))
        #expect(!MetricFamily.isValidName("a:b", label: true))
        #expect(!MetricFamily.isValidName("1abc"))
        #expect(!MetricFamily.isValidName("a-b"))
        #expect(!MetricFamily.isValidName(""))
    }
}
