import ExchangeCore
import Testing

@Suite("A receipt's life: each step done returns the next, and a restart starts where a crash left it")
struct ReceiptLifeTests {
    @Test("a ready file goes claim, record, judge, prepare, commit, place, file, finish")
    func wholeLife() {
        var (life, action) = ReceiptLife.claiming()
        #expect(action == .claim)
        action = life.claimed(found: true)
        #expect(action == .recordClaim && life.state == .claimed)
        action = life.claimRecorded()
        #expect(action == .judge && life.state == .recorded)
        action = life.judged()
        #expect(action == .prepareOutputs)
        action = life.prepared()
        #expect(action == .commitJudgement && life.state == .prepared)
        action = life.committed()
        #expect(action == .placeOutputs && life.state == .committed)
        action = life.placed(originalInWork: true)
        #expect(action == .fileOriginal)
        action = life.filed()
        #expect(action == .recordFinished)
        #expect(life.finished() == .done && life.state == .finished)
    }

    @Test("a file gone before its claim, or recorded by another instance first, is left alone")
    func leftAlone() {
        var (life, _) = ReceiptLife.claiming()
        #expect(life.claimed(found: false) == .stop(.goneBeforeClaim))
        var (adopted, action) = ReceiptLife.adopting()
        #expect(action == .recordClaim)
        #expect(adopted.claimRecorded(byAnother: true) == .stop(.recordedByAnother))
        #expect(adopted.state == .left(.recordedByAnother))
    }

    @Test("a refused commit removes the hidden outputs; an uncertain one leaves them for the next look")
    func failedCommit() {
        func prepared() -> ReceiptLife {
            var (life, _) = ReceiptLife.claiming()
            _ = life.claimed(found: true)
            _ = life.claimRecorded()
            _ = life.judged()
            _ = life.prepared()
            return life
        }
        var refused = prepared()
        #expect(refused.commitFailed(refused: true) == .discardOutputs)
        #expect(refused.outputsDiscarded() == .stop(.commitRefused))
        var uncertain = prepared()
        #expect(uncertain.commitFailed(refused: false) == .stop(.commitUncertain))
    }

    @Test("after a restart: claimed is judged again, writing is placed, a filed original's folder is removed")
    func resuming() {
        #expect(ReceiptLife.resuming(.claimed, originalInWork: true, isReprocess: false).1 == .judge)
        #expect(ReceiptLife.resuming(.claimed, originalInWork: false, isReprocess: true).1 == .copyOriginalIntoWork)
        #expect(ReceiptLife.resuming(.finished, originalInWork: false, isReprocess: false).1 == .done)
        var (life, action) = ReceiptLife.resuming(.writing, originalInWork: false, isReprocess: false)
        #expect(action == .placeOutputs)
        #expect(life.placed(originalInWork: false) == .removeWorkFolder)
        #expect(life.filed() == .recordFinished)
    }
}
