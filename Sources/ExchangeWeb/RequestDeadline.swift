import NIOCore
import NIOHTTPTypes

/// Closes a connection whose request is not read in time: once a request's head has arrived, its body must
/// end within `bodyTimeout` (a client sending a byte now and then cannot hold the connection). Before the
/// head, Hummingbird's idle timeout applies: a header trickled byte by byte produces no request part, so
/// the connection counts as idle and is closed after the idle timeout.
final class RequestDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    let bodyTimeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(bodyTimeout: TimeAmount) {
        self.bodyTimeout = bodyTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            deadline?.cancel()
            // The event loop runs this handler's callbacks, and the task, on one thread.
            deadline = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: bodyTimeout) {
                context.close(promise: nil)
            }
        case .body:
            break
        case .end:
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }
}
