import Testing

@testable import ExchangeCore

@Suite("Readiness: when a dropped file may be claimed")
struct ReadinessTrackerTests {
    private func tracker(quiet: Duration = .seconds(5), doneMarker: Bool = false) -> ReadinessTracker {
        ReadinessTracker(quietPeriod: quiet, usesDoneMarker: doneMarker, maxFileBytes: 1000)
    }

    @Test("a file is ready once unchanged for the quiet period on our clock, whatever its mtime says")
    func quietPeriod() {
        var readiness = tracker()
        let old = DropEntry(name: "a.csv", size: 10, modified: 1, inode: 7)  // an mtime from 1970, as WinSCP keeps
        #expect(readiness.observe([old], now: .seconds(0))["a.csv"] == .wait(quietAt: .seconds(5)))
        #expect(readiness.observe([old], now: .seconds(4))["a.csv"] == .wait(quietAt: .seconds(5)))
        #expect(readiness.observe([old], now: .seconds(5))["a.csv"] == .ready)
    }

    @Test("a file the kernel saw unchanged for the quiet period before the poll is ready at once")
    func quietByStatusChange() {
        var readiness = tracker()
        let second: Int64 = 1_000_000_000
        // Arrived whole five seconds before the first poll that sees it.
        let arrived = DropEntry(name: "a.csv", size: 10, modified: 1, inode: 7, unchangedFor: 5 * second)
        #expect(readiness.observe([arrived], now: .seconds(0))["a.csv"] == .ready)
        // Changed two seconds before the poll: three more on either clock.
        var readiness2 = tracker()
        #expect(readiness2.observe([DropEntry(name: "b.csv", size: 10, inode: 8, unchangedFor: 2 * second)], now: .seconds(0))["b.csv"] == .wait(quietAt: .seconds(3)))
        #expect(readiness2.observe([DropEntry(name: "b.csv", size: 10, inode: 8, unchangedFor: 4 * second)], now: .seconds(2))["b.csv"] == .wait(quietAt: .seconds(3)))
        #expect(readiness2.observe([DropEntry(name: "b.csv", size: 10, inode: 8, unchangedFor: 5 * second)], now: .seconds(3))["b.csv"] == .ready)
        // Still being written: each poll sees a fresh change, so our own count from the last change decides.
        var readiness3 = tracker()
        for (poll, size) in [(0, 10), (2, 20), (4, 30)] {
            let growing = DropEntry(name: "c.csv", size: Int64(size), inode: 9, unchangedFor: second / 10)
            #expect(readiness3.observe([growing], now: .seconds(poll))["c.csv"] == .wait(quietAt: .seconds(poll + 5) - .milliseconds(100)))
        }
        #expect(readiness3.observe([DropEntry(name: "c.csv", size: 30, inode: 9, unchangedFor: 3 * second)], now: .seconds(7))["c.csv"] == .wait(quietAt: .seconds(9)))
        #expect(readiness3.observe([DropEntry(name: "c.csv", size: 30, inode: 9, unchangedFor: 4 * second)], now: .seconds(8))["c.csv"] == .wait(quietAt: .seconds(9)))
        #expect(readiness3.observe([DropEntry(name: "c.csv", size: 30, inode: 9, unchangedFor: 5 * second)], now: .seconds(9))["c.csv"] == .ready)
    }

    @Test("a regular file with a second name (a hard link) is set aside at once, as a symbolic link is")
    func hardLink() {
        var readiness = tracker()
        let linked = DropEntry(name: "a.csv", size: 10, modified: 1, inode: 7, links: 2)
        #expect(readiness.observe([linked], now: .seconds(0))["a.csv"] == .setAside(.hardLink))
        #expect(ValidationIssue.Code.notARegularFile(.hardLink).rawValue == "hard-link")
    }

    @Test("a file that grows, is touched or replaced starts its quiet period over")
    func changesRestart() {
        var readiness = tracker()
        _ = readiness.observe([DropEntry(name: "a.csv", size: 10, modified: 1, inode: 7)], now: .seconds(0))
        #expect(readiness.observe([DropEntry(name: "a.csv", size: 20, modified: 1, inode: 7)], now: .seconds(5))["a.csv"] == .wait(quietAt: .seconds(10)))
        #expect(readiness.observe([DropEntry(name: "a.csv", size: 20, modified: 2, inode: 7)], now: .seconds(9))["a.csv"] == .wait(quietAt: .seconds(14)))
        #expect(readiness.observe([DropEntry(name: "a.csv", size: 20, modified: 2, inode: 8)], now: .seconds(13))["a.csv"] == .wait(quietAt: .seconds(18)))
        #expect(readiness.observe([DropEntry(name: "a.csv", size: 20, modified: 2, inode: 8)], now: .seconds(18))["a.csv"] == .ready)
    }

    @Test("hidden files, upload temporaries and done markers are never touched", arguments: [
        ".hidden.csv", "a.csv.part", "a.csv.filepart", "a.tmp", "a.csv~", "a.csv.done", "b.partial",
    ])
    func ignored(name: String) {
        var readiness = tracker(quiet: .zero)
        #expect(readiness.observe([DropEntry(name: name, size: 1)], now: .zero)[name] == .ignore)
    }

    @Test("links, directories, devices and oversize files are set aside unread")
    func setAside() {
        var readiness = tracker(quiet: .zero)
        let decisions = readiness.observe(
            [
                DropEntry(name: "link.csv", kind: .symbolicLink, size: 10), DropEntry(name: "dir", kind: .directory, size: 0),
                DropEntry(name: "fifo", kind: .special, size: 0), DropEntry(name: "big.csv", size: 1001),
            ], now: .zero)
        #expect(decisions["link.csv"] == .setAside(.symbolicLink))
        #expect(decisions["dir"] == .setAside(.directory))
        #expect(decisions["fifo"] == .setAside(.special))
        #expect(decisions["big.csv"] == .setAside(.tooLarge(limit: 1000)))
    }

    @Test("a done-marker participant's file is ready when NAME.done appears, not before")
    func doneMarker() {
        var readiness = tracker(doneMarker: true)
        let file = DropEntry(name: "a.xml", size: 10)
        #expect(readiness.observe([file], now: .seconds(100))["a.xml"] == .wait(quietAt: nil))
        let decisions = readiness.observe([file, DropEntry(name: "a.xml.done", size: 0)], now: .seconds(100))
        #expect(decisions["a.xml"] == .ready)
        #expect(decisions["a.xml.done"] == .ignore)
    }

    @Test("a file that disappears is forgotten; one that comes back starts over")
    func forgets() {
        var readiness = tracker()
        let file = DropEntry(name: "a.csv", size: 10)
        _ = readiness.observe([file], now: .seconds(0))
        _ = readiness.observe([], now: .seconds(3))
        #expect(readiness.observe([file], now: .seconds(6))["a.csv"] == .wait(quietAt: .seconds(11)))
        #expect(readiness.observe([file], now: .seconds(11))["a.csv"] == .ready)
    }
}

@Suite("Configuration files")
struct ConfigurationParserTests {
    @Test("settings: defaults, durations, sizes, relative paths")
    func settings() throws {
        let settings = try ConfigurationParser.settings(
            from: "# comment\ndrop_root = drop\nstate_dir = /var/lib/ktsx  # inline\nquiet_period = 500ms\nmax_file_size = 2MB\n",
            resolvePath: { $0.hasPrefix("/") ? $0 : "/etc/ktsx/" + $0 })
        #expect(settings.dropRoot == "/etc/ktsx/drop")
        #expect(settings.stateDirectory == "/var/lib/ktsx")
        #expect(settings.quietPeriod == .milliseconds(500))
        #expect(settings.pollInterval == .seconds(2))
        #expect(settings.maxFileBytes == 2 * 1024 * 1024)
        #expect(settings.reviewAddress == ReviewAddress(host: "127.0.0.1", port: 8480))
    }

    @Test("the review page's address: host:port, an IPv6 host in brackets, or off; anything else refused")
    func reviewAddress() throws {
        func address(_ value: String) throws -> ReviewAddress? {
            try ConfigurationParser.settings(from: "drop_root = d\nstate_dir = s\nreview_address = \(value)\n").reviewAddress
        }
        #expect(try address("0.0.0.0:9000") == ReviewAddress(host: "0.0.0.0", port: 9000))
        #expect(try address("[::1]:8480") == ReviewAddress(host: "::1", port: 8480))
        #expect(try address("[::1]:8480")?.description == "[::1]:8480")
        #expect(try address("off") == nil)
        for bad in ["8480", "localhost:", "localhost:70000", ":8480", "a b:1"] {
            #expect(throws: ConfigurationErrors.self, "\(bad)") { try address(bad) }
        }
    }

    @Test("every problem is reported with its line: unknown keys, repeats, bad values, missing settings")
    func settingsErrors() {
        do {
            _ = try ConfigurationParser.settings(from: "drop_root = d\nquiet = 5s\ndrop_root = e\npoll_interval = soon\nnonsense\n")
            Issue.record("no error")
        } catch {
            let lines = error.errors.map { "\($0.line.map(String.init) ?? "-"): \($0.reason.prefix(20))" }
            #expect(error.errors.map(\.line) == [2, 3, 5, nil, 4])
            #expect(error.errors.allSatisfy { $0.file == "ktsx.conf" }, "\(lines)")
            #expect(error.description.contains("ktsx.conf:2: unknown setting 'quiet'"))
            #expect(error.description.contains("'state_dir' is required"))
        }
    }

    @Test("a value with an explanation pasted beside it (no '#') is refused, not taken as part of the value")
    func pastedExplanations() {
        // README's block as an operator pasted it before its comments went on their own lines.
        let pasted = """
            drop_root = /srv/ktsx/drop             <drop_root>/<orgId>/inbound and outbound, served over SFTP
            state_dir = /var/lib/ktsx              ledger, work area, archive, quarantine
            quiet_period = 5s                      a file is ready when unchanged this long
            log_format = json                      for log shippers
            """
        do {
            _ = try ConfigurationParser.settings(from: pasted)
            Issue.record("no error")
        } catch {
            #expect(error.errors.map(\.line) == [1, 2, 3, 4])
            #expect(error.description.contains("ktsx.conf:1: 'drop_root' is '/srv/ktsx/drop"))
            #expect(error.description.contains("expected a path without spaces (a comment starts with '#')"))
            #expect(error.description.contains("ktsx.conf:4: 'log_format' is 'json                      for log shippers'; expected text or json"))
        }
        // With the explanations after '#', the same lines are good.
        let commented = """
            drop_root = /srv/ktsx/drop             # <drop_root>/<orgId>/inbound and outbound, served over SFTP
            state_dir = /var/lib/ktsx              # ledger, work area, archive, quarantine
            quiet_period = 5s                      # a file is ready when unchanged this long
            log_format = json                      # for log shippers
            """
        let settings = try? ConfigurationParser.settings(from: commented)
        #expect(settings?.dropRoot == "/srv/ktsx/drop" && settings?.quietPeriod == .seconds(5) && settings?.logFormat == .json)
        #expect((try? ConfigurationParser.settings(from: "drop_root = d\nstate_dir = s\n"))?.logFormat == .text)
    }

    @Test("participants: parsed, and every bad row named with its line")
    func participants() throws {
        let good = "orgId,name,classification,timeZone,outputFormat,doneMarker\n061014,Ridgeline ATC,C2,America/New_York,same,false\n165901,\"Bluegrass CTC, Lexington\",A2,America/Chicago,csv,true\n"
        let parsed = try ConfigurationParser.participants(from: Array(good.utf8))
        #expect(parsed.map(\.orgId) == ["061014", "165901"])
        #expect(parsed[1].name == "Bluegrass CTC, Lexington")
        #expect(parsed[1].usesDoneMarker)
        let bad = good + "06101,X,Z9,Europe/Paris,pdf,yes\n061014,Again,A1,America/New_York,xml,false\n"
        do {
            _ = try ConfigurationParser.participants(from: Array(bad.utf8))
            Issue.record("no error")
        } catch {
            #expect(error.errors.filter { $0.line == 4 }.count == 5)
            #expect(error.errors.contains { $0.line == 5 && $0.reason.contains("listed twice") })
        }
    }
}

@Suite("Retention of archived originals")
struct RetentionPolicyTests {
    @Test("a month goes once its last day is older than the retention period; other names never go")
    func expired() {
        // 2026-11-29T00:00:00Z
        let now = Timestamp(secondsSinceEpoch: 1_795_910_400)
        #expect(now.iso8601 == "2026-11-29T00:00:00Z")
        let months = ["2025-09", "2025-10", "2025-11", "2026-10", "notes", "2025-13"]
        // 30 days: October 2026 ended on 2026-11-01, 28 days ago: kept.
        #expect(RetentionPolicy.expiredMonths(months, now: now, retentionDays: 30) == ["2025-09", "2025-10", "2025-11"])
        // 400 days before 2026-11-29 is 2025-10-25: September 2025 ended before it, October 2025 did not.
        #expect(RetentionPolicy.expiredMonths(months, now: now, retentionDays: 400) == ["2025-09"])
    }
}
