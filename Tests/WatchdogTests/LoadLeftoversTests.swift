import Config
import Testing

@testable import Watchdog

/// The watchdog frees the parse tree, and a reload's replaced configuration, after the workers have been sent their
/// configurations, not before: `retireAfterLoad` sets them aside and `trimAfterLoad` frees them.
@Suite("What a load leaves, freed after the workers have their configurations")
struct LoadLeftoversTests {
    static func loaded(_ globals: String = "") -> LoadedConfig {
        let text = """
            global_defs {
              router_id leftovers
            \(globals)
            }
            virtual_server 192.0.2.10 80 {
              lb_kind DR
              real_server 198.51.100.11 80 {
                TCP_CHECK {
                  connect_timeout 1
                }
              }
            }
            """
        let loaded = ConfigLoader.load(text: text, name: "leftovers.conf")
        #expect(loaded.isValid, "\(loaded.diagnostics)")
        return loaded
    }

    @Test func theTreeWaitsForTheTrim() {
        let supervisor = Supervisor(options: DaemonOptions(), hostName: "test", loaded: Self.loaded())
        let statements = supervisor.loaded.tree.nodes.count
        // Held while the workers are spawned and their configurations built.
        #expect(statements > 0)
        let model = supervisor.loaded.config
        supervisor.retireAfterLoad()
        #expect(supervisor.loaded.tree.nodes.isEmpty)
        #expect(supervisor.loaded.config == model)
        #expect(supervisor.loadLeftovers.trees.map(\.count) == [statements])
        // No worker to wait for: the trim runs and frees them.
        supervisor.trimAfterLoad()
        #expect(!supervisor.trimPending)
        #expect(supervisor.loadLeftovers.trees.isEmpty)
    }

    @Test func aReloadsPreviousConfigurationToo() {
        let supervisor = Supervisor(options: DaemonOptions(), hostName: "test", loaded: Self.loaded())
        supervisor.retireAfterLoad(replacing: KeepalivedConfig())
        #expect(supervisor.loadLeftovers.configurations.count == 1)
        #expect(supervisor.loadLeftovers.trees.count == 1)
        // Another reload before any trim (a worker not back yet): only the last one's wait.
        supervisor.retireAfterLoad(replacing: KeepalivedConfig())
        #expect(supervisor.loadLeftovers.configurations.count == 1)
        #expect(supervisor.loadLeftovers.trees.isEmpty)
        supervisor.trimAfterLoad()
        #expect(supervisor.loadLeftovers.configurations.isEmpty)
    }

    @Test func configSaveDirKeepsTheTree() {
        let supervisor = Supervisor(
            options: DaemonOptions(), hostName: "test", loaded: Self.loaded("  config_save_dir /tmp/vigil-saved"))
        let statements = supervisor.loaded.tree.nodes.count
        supervisor.retireAfterLoad()
        #expect(supervisor.loaded.tree.nodes.count == statements)
        #expect(supervisor.loadLeftovers.trees.isEmpty)
    }
}
