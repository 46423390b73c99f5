import Foundation

#if FUZZING
/// libFuzzer's driver (from the runtime that `-sanitize=fuzzer` links).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// The program's entry when built for fuzzing (`-sanitize=fuzzer -DFUZZING`: see scripts/fuzz.sh). SwiftPM
/// names an executable target's entry `<Target>_main`; this one hands the command line to libFuzzer,
/// which calls the target chosen by `KTSX_FUZZ_TARGET` with each input.
@_cdecl("KTSXFuzz_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        _ = FuzzEntry.target.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
}

enum FuzzEntry {
    static let target: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["KTSX_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            fatalError("set KTSX_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return target
    }()
}
#else
/// Without libFuzzer: replays files through a target (`ktsx-fuzz TARGET FILE...`), printing each verdict.
/// This is how the corpus and every input a fuzzer found are run again by the test suite.
@main
enum FuzzReplay {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("usage: ktsx-fuzz \(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")) FILE...\n".utf8))
            exit(2)
        }
        for path in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("cannot read \(path)\n".utf8))
                exit(2)
            }
            let verdict = data.withUnsafeBytes { target.run($0) }
            print("\((path as NSString).lastPathComponent)\t\(verdict)")
        }
    }
}
#endif
