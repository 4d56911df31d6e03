import Testing

@testable import Config

/// Reads `text` as `/etc/keepalived/keepalived.conf` beside `others` (path → text).
func readTree(
    _ text: String,
    others: [String: String] = [:],
    configID: String? = nil
) -> ConfigTree {
    var files = others
    files["/etc/keepalived/keepalived.conf"] = text
    return ConfigReader.read(
        path: "/etc/keepalived/keepalived.conf",
        from: InMemoryFileSource(files),
        options: ConfigReaderOptions(configID: configID, random: { $0.lowerBound })
    )
}

/// The tree as `keyword args` lines with children indented, for compact assertions.
func outline(_ nodes: [ConfigNode]) -> String {
    ConfigPrinter.render(nodes).trimmingCharacters(in: "\n")
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var text = Substring(self)
        while text.first == set { text = text.dropFirst() }
        while text.last == set { text = text.dropLast() }
        return String(text)
    }
}

@Suite("Reader: words, blocks and comments")
struct ReaderSyntaxTests {
    @Test func blocksNestAndCommentsGo() {
        let tree = readTree(
            """
            ! comment
            global_defs { # a comment
              router_id LVS_DEVEL   ! another
            }
            vrrp_instance VI_1
            {
              virtual_ipaddress {
                192.0.2.1/24 dev eth0
              }
            }
            """)
        #expect(tree.diagnostics.isEmpty)
        #expect(
            outline(tree.nodes) == """
                global_defs {
                    router_id LVS_DEVEL
                }
                vrrp_instance VI_1 {
                    virtual_ipaddress {
                        192.0.2.1/24 dev eth0
                    }
                }
                """)
        #expect(tree.nodes[1].location.line == 5)
        #expect(tree.nodes[1].children?[0].children?[0].location.line == 8)
    }

    @Test("every word is read as written, however many distinct short words share the reader's cache of them")
    func manyDistinctWords() {
        // 5,000 distinct words of 1 to 15 bytes and some longer (the cache holds 1,024, by a hash of the bytes), each
        // seen twice, between words that differ from them in one byte or in length only.
        func word(_ index: Int) -> String {
            let base = String(index, radix: 36)
            return String(repeating: "w", count: index % 16) + base
        }
        let lines = (0..<5_000).map { "\(word($0)) \(word($0))x \(word($0)) \(word($0 + 1))" }
        let tree = readTree(lines.joined(separator: "\n"))
        #expect(tree.diagnostics.isEmpty)
        #expect(tree.nodes.count == lines.count)
        for (index, node) in tree.nodes.enumerated() {
            #expect(
                [node.keyword] + node.arguments == [word(index), word(index) + "x", word(index), word(index + 1)],
                "line \(index + 1)")
        }
    }

    @Test func utf8CommentsAndBraceAgainstComment() {
        let tree = readTree("real_server 192.0.2.1 80 {#:真实WEB服务器\nweight 1 #:转发\n}\n")
        #expect(tree.diagnostics.isEmpty)
        #expect(outline(tree.nodes) == "real_server 192.0.2.1 80 {\n    weight 1\n}")
    }

    @Test func quotedStringsKeepSpacesAndEscapes() {
        let tree = readTree(#"misc_path "/bin/check --name 'a b'" 'x "y"' ab"cd ef"gh "tab\there" "\x41\101\c@""#)
        #expect(tree.diagnostics.isEmpty)
        #expect(tree.nodes[0].arguments == ["/bin/check --name 'a b'", #"x "y""#, "abcd efgh", "tab\there", "AA\0"])
    }

    @Test func commentCharactersInsideQuotesStay() {
        let tree = readTree(#"notify "/bin/echo #1 !2""#)
        #expect(tree.nodes[0].arguments == ["/bin/echo #1 !2"])
    }

    /// The byte after an escape in quotes is taken by the escape, whatever it is: the quote after `\n` closes
    /// the string, so the `#` after it starts a comment (and an escaped quote does not close it).
    @Test func commentAfterAnEscapeInQuotesGoes() {
        let tree = readTree(
            #"""
            notify "/bin/echo a\n" # a comment
            notify "/bin/echo \" # still quoted" ! a comment
            notify '/bin/echo \ ' # a comment
            """#)
        #expect(tree.diagnostics.isEmpty)
        #expect(tree.nodes.map(\.arguments) == [["/bin/echo a\n"], [#"/bin/echo " # still quoted"#], ["/bin/echo  "]])
    }

    @Test func quotedBraceIsAWord() {
        let tree = readTree(#"a "{" "}""#)
        #expect(tree.diagnostics.isEmpty)
        #expect(tree.nodes[0].arguments == ["{", "}"])
        #expect(tree.nodes[0].children == nil)
    }

    @Test func unterminatedQuoteIsAnError() {
        let tree = readTree("a\nb \"open\n")
        #expect(
            tree.diagnostics.map(\.description) == [
                "/etc/keepalived/keepalived.conf:2: error: unterminated quoted string"
            ])
    }

    @Test func unclosedBlockNamesItsOpeningLine() {
        let tree = readTree("global_defs {\n router_id x\nvrrp_instance V {\n}\n")
        #expect(
            tree.diagnostics.map(\.description) == [
                "/etc/keepalived/keepalived.conf:1: error: block 'global_defs' is never closed (missing '}')"
            ])
    }

    @Test func strayClosingBrace() {
        let tree = readTree("a {\n}\n}\n")
        #expect(
            tree.diagnostics.map(\.description) == [
                "/etc/keepalived/keepalived.conf:3: error: unexpected '}' with no open block"
            ])
    }

    @Test func deepNestingIsRefusedNotRecursed() {
        let text = String(repeating: "a {\n", count: 5000) + String(repeating: "}\n", count: 5000)
        let tree = readTree(text)
        #expect(tree.diagnostics.count == 1)
        #expect(tree.diagnostics[0].message.contains("nested more than"))
        #expect(tree.diagnostics[0].location?.line == 17)
    }

    @Test func oneLineBlocks() {
        let tree = readTree("authentication { auth_type PASS }\nvirtual_ipaddress { 192.0.2.1 }")
        #expect(tree.diagnostics.isEmpty)
        #expect(outline(tree.nodes) == "authentication {\n    auth_type PASS\n}\nvirtual_ipaddress {\n    192.0.2.1\n}")
    }

    @Test func crlfLineEndings() {
        let tree = readTree("a 1\r\nb {\r\nc 2\r\n}\r\n")
        #expect(tree.diagnostics.isEmpty)
        #expect(outline(tree.nodes) == "a 1\nb {\n    c 2\n}")
    }

    @Test func nulByteIsNotText() {
        let tree = readTree("a 1\nb\u{0}junk\n")
        #expect(
            tree.diagnostics.map(\.description) == [
                "/etc/keepalived/keepalived.conf:2: error: not a text file (NUL byte); nothing of it was read"
            ])
    }

    @Test func printedTreeReadsBackTheSame() {
        let tree = readTree(#"a "x y" "q\"uote" 'b\\s' "" "{" "\n" é $X"#)
        let again = readTree(ConfigPrinter.render(tree.nodes))
        #expect(again.diagnostics.isEmpty)
        #expect(again.nodes.map(\.arguments) == tree.nodes.map(\.arguments))
    }
}

@Suite("Reader: includes")
struct ReaderIncludeTests {
    @Test func includeIsRelativeToTheIncludingFile() {
        let tree = readTree(
            "include conf.d/*.conf\nafter 1\n",
            others: [
                "/etc/keepalived/conf.d/b.conf": "b 2\ninclude ../x/c.inc\n",
                "/etc/keepalived/conf.d/a.conf": "a 1\n",
                "/etc/keepalived/x/c.inc": "c 3\n",
            ])
        #expect(tree.diagnostics.isEmpty)
        #expect(outline(tree.nodes) == "a 1\nb 2\nc 3\nafter 1")
        #expect(tree.nodes[2].location == SourceLocation(file: "/etc/keepalived/x/c.inc", line: 1))
        #expect(tree.files.count == 4)
    }

    @Test func includeInsideABlock() {
        let tree = readTree(
            "vrrp_instance V {\ninclude vips.conf\n}\n", others: ["/etc/keepalived/vips.conf": "priority 100\n"])
        #expect(tree.diagnostics.isEmpty)
        #expect(outline(tree.nodes) == "vrrp_instance V {\n    priority 100\n}")
    }

    @Test func braceGlobs() {
        let tree = readTree(
            "include {one,two}.conf\n",
            others: [
                "/etc/keepalived/one.conf": "a 1", "/etc/keepalived/two.conf": "b 2",
                "/etc/keepalived/three.conf": "c 3",
            ])
        #expect(outline(tree.nodes) == "a 1\nb 2")
    }

    @Test func includeLoopIsAnError() {
        let tree = readTree("include a.conf\n", others: ["/etc/keepalived/a.conf": "x 1\ninclude keepalived.conf\n"])
        #expect(
            tree.diagnostics.map(\.description) == [
                "/etc/keepalived/a.conf:2: error: include loop: /etc/keepalived/keepalived.conf is already being read"
            ])
        #expect(outline(tree.nodes) == "x 1")
    }

    @Test func missingIncludes() {
        let plain = readTree("include nothing/*.conf\n")
        #expect(plain.diagnostics.map(\.severity) == [.warning])
        let strict = readTree("includea nothing.conf\n")
        #expect(
            strict.diagnostics.map(\.description) == [
                "/etc/keepalived/keepalived.conf:1: error: includea: no file matches /etc/keepalived/nothing.conf"
            ])
    }

    /// Severities of the include problems in `text`, read beside `a.conf` and `d/b.conf`.
    private func severities(_ text: String, others: [String: String] = [:]) -> [Diagnostic.Severity] {
        let files = ["/etc/keepalived/a.conf": "a 1\n", "/etc/keepalived/d/b.conf": "b 1\n"].merging(others) { $1 }
        return readTree(text, others: files).diagnostics.filter { $0.message.contains("match") }.map(\.severity)
    }

    @Test("Each include variant's checks, as keepalived's")
    func includeVariants() {
        #expect(severities("include none.conf\n") == [.warning])
        #expect(severities("includem none.conf\n") == [.error])
        #expect(severities("includem none/*.conf\n") == [.warning], "match: a wildcard pattern may match nothing")
        #expect(severities("includew none/*.conf\n") == [.error])
        #expect(severities("includer none.conf\n") == [.warning], "read: nothing to read is not a read failure")
        #expect(severities("include {a,none}.conf\n") == [.warning])
        #expect(severities("includeb {a,none}.conf\n") == [.error])
        #expect(severities("includea {a,none}.conf\n") == [.error])
        #expect(severities("includem {a,none}.conf\n") == [.warning])
        let brace = readTree("includeb {a,none}.conf\n", others: ["/etc/keepalived/a.conf": "a 1\n"])
        #expect(outline(brace.nodes).isEmpty, "brace_match: nothing of the pattern is read")
        let loose = readTree("include {a,none}.conf\n", others: ["/etc/keepalived/a.conf": "a 1\n"])
        #expect(outline(loose.nodes) == "a 1")
    }

    @Test("include_check adds checks to the includes after it")
    func includeCheck() {
        #expect(severities("include none.conf\ninclude_check\ninclude none.conf\n") == [.warning, .error])
        #expect(severities("include_check match\ninclude none.conf\ninclude none/*.conf\n") == [.error, .warning])
        #expect(severities("include_check match +wildcard_match\ninclude none/*.conf\n") == [.error])
        #expect(severities("include_check -match\nincludem none.conf\n") == [.error], "the variant's own checks stay")
        #expect(severities("include_check\ninclude_check -match\ninclude none.conf\n") == [.warning])
        #expect(severities("include_check +brace_match\ninclude {a,none}.conf\n") == [.error])
    }

    @Test("An included file's include_check ends with it")
    func includeCheckRestored() {
        let text = "include a.conf\ninclude none.conf\n"
        #expect(
            severities(text, others: ["/etc/keepalived/a.conf": "include_check\ninclude none2.conf\n"]) == [
                .error, .warning,
            ])
    }

    @Test("include_check's words are checked in global_defs")
    func includeCheckWords() {
        let loaded = ConfigLoader.load(text: "global_defs {\n  include_check +match brace_match -colour\n}\n")
        #expect(
            loaded.diagnostics.errors.map(\.message) == [
                "include_check 'brace_match' after the first: only +brace_match or -brace_match add or remove",
                "unknown include_check type 'colour' (read, match, wildcard_match, brace_match)",
            ])
    }
}

@Suite("Reader: parameters, conditionals and generators")
struct ReaderPreprocessorTests {
    @Test func parametersAreSubstitutedAtUseTime() {
        let tree = readTree(
            """
            $ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}
            $ADDRESS_BASE_SUB=0
            ${ADDRESS_BASE}.100/32
            $ADDRESS_BASE_SUB=10
            ${ADDRESS_BASE}.100/32
            priority $PRIO
            $PRIO=240
            priority $PRIO
            priority $PRIOx ${UNDEFINED}
            """)
        #expect(tree.diagnostics.isEmpty)
        #expect(
            outline(tree.nodes) == """
                10.2.0.100/32
                10.2.10.100/32
                priority $PRIO
                priority 240
                priority $PRIOx "${UNDEFINED}"
                """)
    }

    @Test func conditionalLines() {
        let text = """
            @main router_id main_router
            @backup router_id backup_router
            unicast_peer {
              @^main 192.0.2.1
              @^backup 192.0.2.2
            }
            @main $PRIORITY=240
            @backup $PRIORITY=200
            priority $PRIORITY
            $IF_MAIN=@main
            $IF_MAIN nopreempt
            """
        #expect(
            outline(readTree(text, configID: "main").nodes) == """
                router_id main_router
                unicast_peer {
                    192.0.2.2
                }
                priority 240
                nopreempt
                """)
        #expect(
            outline(readTree(text, configID: "backup").nodes) == """
                router_id backup_router
                unicast_peer {
                    192.0.2.1
                }
                priority 200
                """)
        #expect(outline(readTree(text).nodes) == "unicast_peer {\n    192.0.2.1\n    192.0.2.2\n}\npriority $PRIORITY")
    }

    @Test func multilineDefinitions() {
        let tree = readTree(
            #"""
            $RS= \
            real_server 192.0.2.${RS_NUM} 80 { \
                weight 1 \

                @high priority 130 \
            }
            $VS= \
            virtual_server 198.51.100.${VS_NUM} 80 { \
                $RS_NUM=1 \
                $RS \
                $RS_NUM=2 \
                $RS \
            }
            $VS_NUM=7
            $VS
            """#, configID: "high")
        #expect(tree.diagnostics.isEmpty)
        #expect(
            outline(tree.nodes) == """
                virtual_server 198.51.100.7 80 {
                    real_server 192.0.2.1 80 {
                        weight 1
                        priority 130
                    }
                    real_server 192.0.2.2 80 {
                        weight 1
                        priority 130
                    }
                }
                """)
        #expect(tree.nodes[0].children?[1].location.line == 15)
    }

    @Test func builtins() {
        let tree = readTree("a ${_PWD} ${_RANDOM 5 9} ${_INSTANCE} ${_BANG}x", configID: "node1")
        #expect(tree.nodes[0].arguments == ["/etc/keepalived", "5", "node1"])
        // keepalived 2.2.7 strips comments again after substitution, so the `#` or `!` that `${_HASH}`
        // or `${_BANG}` gives starts one (keepalived.conf(5) says otherwise; the code is the fact).
        #expect(
            tree.diagnostics.map(\.description) == [
                "/etc/keepalived/keepalived.conf:1: warning: parameter substitution put a comment character in this "
                    + "line; as keepalived does, the rest of it ('!x') is ignored"
            ])
        let commented = readTree("$OFF=${_HASH}\nvalid 1\n$OFF bogus {\n$OFF }\n${_HASH} bogus")
        #expect(outline(commented.nodes) == "valid 1")
        #expect(commented.diagnostics.isEmpty)
    }

    @Test func selfReferenceIsAnErrorNotAHang() {
        let tree = readTree("$A=x ${A}\n$A\n")
        #expect(tree.diagnostics.count == 1)
        #expect(tree.diagnostics[0].message.contains("does a parameter refer to itself"))
        #expect(tree.diagnostics[0].location?.line == 2)
    }

    @Test func sequences() {
        #expect(
            outline(readTree("~SEQ(SUBNET, 0, 3) ip_address 10.0.${SUBNET}.1").nodes)
                == (0...3).map { "ip_address 10.0.\($0).1" }.joined(separator: "\n"))
        #expect(
            outline(readTree("~SEQx(S, 0x90, 0x10, 0xc0) a fe80::20:${S}:1").nodes)
                == ["90", "a0", "b0", "c0"].map { "a fe80::20:\($0):1" }.joined(separator: "\n"))
        #expect(outline(readTree("~SEQ(N, 3) n $N").nodes) == "n 1\nn 2\nn 3")
        #expect(outline(readTree("~SEQ(N, 3, 1) n $N").nodes) == "n 3\nn 2\nn 1")
        #expect(outline(readTree("~SEQ(A, 1, 2) ~SEQ(B, 5, 6) x ${A}.${B}").nodes) == "x 1.5\nx 1.6\nx 2.5\nx 2.6")
    }

    @Test func lists() {
        #expect(
            outline(readTree("~LST({IP, IP1}, {10,1},{20,4}) a 192.168.${IP}.${IP1}").nodes)
                == "a 192.168.10.1\na 192.168.20.4")
        #expect(
            outline(readTree("~LST({IP, IP1}, {10,1},{20,4}) ~SEQ(IP2,168,2,170) a 192.${IP2}.${IP}.${IP1}").nodes)
                == "a 192.168.10.1\na 192.170.10.1\na 192.168.20.4\na 192.170.20.4")
    }

    @Test func badGenerators() {
        for text in [
            "~SEQ(N, 1, 0, 5) x", "~SEQ(N, a) x", "~SEQ(N, 1, 2", "~LST(N) x", "~LST({A,B}, {1}) x", "~SEQ(N, 3)",
        ] {
            let tree = readTree(text)
            #expect(tree.diagnostics.count == 1, "\(text)")
            #expect(tree.diagnostics.first?.severity == .error, "\(text)")
        }
    }

    @Test func runawayGeneratorsStop() {
        let tree = ConfigReader.read(
            text: "~SEQ(A, 1, 100000) ~SEQ(B, 1, 100000) x $A $B",
            options: ConfigReaderOptions(maxExpandedLines: 50_000))
        #expect(tree.diagnostics.hasErrors)
        #expect(tree.nodes.count < 50_000)
    }
}
