import Testing

@testable import ExchangeCore

/// Reads `text` through the reader in chunks of `chunkSize` bytes and returns each record's fields,
/// start line and record number, plus any syntax problems.
func readCSV(_ bytes: [UInt8], chunkSize: Int = 1 << 20, maxRecordBytes: Int = 1 << 20)
    -> (records: [(fields: [String], line: Int, number: Int)], problems: [CSVSyntaxProblem])
{
    var reader = CSVRecordReader(maxRecordBytes: maxRecordBytes)
    var records: [(fields: [String], line: Int, number: Int)] = []
    var problems: [CSVSyntaxProblem] = []
    let collect: (CSVRecord) -> Void = { record in
        records.append(((0..<record.count).map { record.string($0) }, record.line, record.number))
    }
    var offset = 0
    while offset < bytes.count {
        let end = min(bytes.count, offset + chunkSize)
        bytes[offset..<end].withUnsafeBytes { reader.consume($0, onRecord: collect, onProblem: { problems.append($0) }) }
        offset = end
    }
    reader.finish(onRecord: collect, onProblem: { problems.append($0) })
    return (records, problems)
}

@Suite("CSV record reader")
struct CSVRecordReaderTests {
    @Test("quoted commas, doubled quotes and line breaks inside quotes")
    func quoting() {
        let text = "a,b,c\n1,\"x, y\",\"say \"\"hi\"\"\"\n2,\"two\nlines\",z\n3,,\n"
        let (records, problems) = readCSV(Array(text.utf8))
        #expect(problems.isEmpty)
        #expect(records.map(\.fields) == [["a", "b", "c"], ["1", "x, y", "say \"hi\""], ["2", "two\nlines", "z"], ["3", "", ""]])
        #expect(records.map(\.line) == [1, 2, 3, 5])
        #expect(records.map(\.number) == [1, 2, 3, 4])
    }

    @Test("CRLF, a BOM, a last line without a line ending")
    func lineEndings() {
        let text = "\u{FEFF}a,b\r\n1,\"q\r\nr\"\r\n2,3"
        let (records, problems) = readCSV(Array(text.utf8))
        #expect(problems.isEmpty)
        #expect(records.map(\.fields) == [["a", "b"], ["1", "q\r\nr"], ["2", "3"]])
        #expect(records.map(\.line) == [1, 2, 4])
    }

    @Test("every chunk size gives the same records", arguments: [1, 2, 3, 5, 7, 64])
    func chunkBoundaries(chunkSize: Int) {
        let text = "\u{FEFF}id,name\r\n1,\"a \"\"b\"\"\r\nc\"\r\n\r\n2,Zoë\n3,\"\"\n,\n"
        let whole = readCSV(Array(text.utf8))
        let chunked = readCSV(Array(text.utf8), chunkSize: chunkSize)
        #expect(chunked.records.map(\.fields) == whole.records.map(\.fields))
        #expect(chunked.records.map(\.line) == whole.records.map(\.line))
        #expect(whole.records.map(\.fields) == [["id", "name"], ["1", "a \"b\"\r\nc"], [""], ["2", "Zoë"], ["3", ""], ["", ""]])
    }

    @Test("an empty line is a record with one empty field")
    func emptyLine() {
        let (records, _) = readCSV(Array("a\n\nb\n".utf8))
        #expect(records.map(\.fields) == [["a"], [""], ["b"]])
        #expect(records.map(\.number) == [1, 2, 3])
    }

    @Test("a stray quote in an unquoted value is a syntax problem with its line; reading goes on")
    func strayQuote() {
        let (records, problems) = readCSV(Array("a,b\n1,bad\"quote\n2,ok\n".utf8))
        #expect(problems.map(\.kind) == [.quoteInUnquotedValue])
        #expect(problems.map(\.line) == [2])
        #expect(problems.map(\.field) == [2])
        #expect(records.map(\.fields) == [["a", "b"], ["2", "ok"]])
        #expect(records.map(\.line) == [1, 3])
    }

    @Test("text after a closing quote and an unterminated quote")
    func brokenQuotes() {
        let (_, afterQuote) = readCSV(Array("a\n\"x\"y\n".utf8))
        #expect(afterQuote.map(\.kind) == [.textAfterClosingQuote])
        let (_, unterminated) = readCSV(Array("a\n\"never\nends\n".utf8))
        #expect(unterminated.map(\.kind) == [.unterminatedQuote])
        #expect(unterminated.map(\.line) == [2])
    }

    @Test("a record over the limit stops the reader instead of growing without bound")
    func recordTooLarge() {
        let text = "a\n" + String(repeating: "x", count: 5000) + "\n"
        let (records, problems) = readCSV(Array(text.utf8), chunkSize: 100, maxRecordBytes: 1000)
        #expect(records.map(\.fields) == [["a"]])
        #expect(problems.map(\.kind) == [.recordTooLarge(limit: 1000)])
    }
}
