import ExchangeCore
import ExchangeRules
import Logging
import ServiceLifecycle

/// Tells participants' contacts what they chose to hear of (`contacts.csv`): each pass offers the events
/// of the last two days (files rejected or partly, waivers decided, pickups overdue today) to the contacts
/// that want them, which the ledger records once per event and contact, then sends what is due. A
/// notification is leased while it is sent, so several instances (or a restart) send it once; one that
/// fails is tried again after 1, 5, 30 minutes, 2 and 6 hours, then given up (the ledger says why).
public struct Notifier: Sendable {
    let ledger: any LedgerStore
    let reference: @Sendable () -> ReferenceData
    let contacts: NotificationContacts
    let sender: any NotificationSender
    let now: @Sendable () -> Timestamp
    let owner: String
    let siteURL: String?
    let logger: Logger
    /// How far back events are offered (a pass missed for a while still tells them).
    static let lookBackSeconds: Int64 = 2 * 86_400

    /// A notifier over a ledger.
    /// - Parameters:
    ///   - owner: The instance name notifications are leased under while sent.
    ///   - siteURL: The review site's address as partners reach it, for links.
    public init(
        ledger: any LedgerStore, reference: @escaping @Sendable () -> ReferenceData, contacts: NotificationContacts, sender: any NotificationSender,
        now: @escaping @Sendable () -> Timestamp, owner: String, siteURL: String?, logger: Logger
    ) {
        self.ledger = ledger
        self.reference = reference
        self.contacts = contacts
        self.sender = sender
        self.now = now
        self.owner = owner
        self.siteURL = siteURL
        self.logger = logger
    }

    /// What a pass did.
    public struct Pass: Sendable, Equatable {
        /// Notifications recorded (new), sent, tried again later, and given up.
        public var recorded = 0, sent = 0, retrying = 0, failed = 0
    }

    /// Offers the recent events and sends what is due.
    @discardableResult
    public func pass() async throws -> Pass {
        var pass = Pass()
        guard !contacts.contacts.isEmpty else { return pass }
        let time = now()
        var offered: [PartnerNotification] = []
        for event in try await events(at: time) {
            for contact in contacts.contacts(of: event.orgId, for: event.kind) {
                offered.append(PartnerNotification(event: event, contact: contact.key, at: time))
            }
        }
        pass.recorded = try await ledger.recordNotifications(offered)
        while true {
            let due = try await ledger.takeDueNotifications(at: now(), owner: owner, limit: 20)
            if due.isEmpty { break }
            for notification in due {
                var done = notification
                done.attempts += 1
                let contact = contacts.contacts.first { $0.key == notification.contact && $0.orgId == notification.orgId }
                do throws(NotificationFailure) {
                    guard let contact else { throw NotificationFailure("the contact is no longer in \(NotificationContacts.file)") }
                    try await sender.send(notification, to: contact)
                    done.state = .sent
                    done.sentAt = now()
                    done.lastError = nil
                    pass.sent += 1
                } catch {
                    done.lastError = error.message
                    if contact != nil, let delay = PartnerNotification.retryDelay(afterAttempt: done.attempts) {
                        done.nextAttemptAt = Timestamp(secondsSinceEpoch: now().secondsSinceEpoch + delay)
                        pass.retrying += 1
                    } else {
                        done.state = .failed
                        pass.failed += 1
                    }
                }
                try await ledger.finishNotificationAttempt(done)
                logger.log(
                    level: done.state == .sent ? .info : .warning, done.state == .sent ? "notification sent" : "notification not sent",
                    metadata: [
                        "exchange.event": "\(notification.eventId)", "exchange.participant": "\(notification.orgId)",
                        "exchange.channel": "\(notification.contact.prefix { $0 != ":" })", "exchange.attempts": "\(done.attempts)",
                        "exchange.state": "\(done.state.rawValue)", "exchange.error": "\(done.lastError ?? "")",
                    ])
            }
        }
        return pass
    }

    /// The events of the last two days that some contact wants.
    func events(at time: Timestamp) async throws -> [NotificationEvent] {
        let reference = reference()
        let zone = reference.policy.timeZone
        let since = Timestamp(secondsSinceEpoch: time.secondsSinceEpoch - Notifier.lookBackSeconds)
        let wanted = Set(contacts.contacts.flatMap(\.kinds))
        var events: [NotificationEvent] = []
        if wanted.contains(.fileRejected) {
            let receipts = try await ledger.receipts(matching: ReceiptQuery(outcomes: [.rejected, .acceptedWithErrors], claimedFrom: since))
            events += receipts.reversed().compactMap { NotificationEvents.fileOutcome($0, zone: zone, siteURL: siteURL) }
        }
        if wanted.contains(.waiverDecided) {
            events += try await ledger.allWaivers().filter { ($0.decidedAt ?? Timestamp(secondsSinceEpoch: 0)) >= since }
                .compactMap { NotificationEvents.waiverDecided($0, zone: zone, siteURL: siteURL) }
        }
        if wanted.contains(.pickupOverdue) {
            let waiting = try await ledger.pendingDeliveries()
            for orgId in Set(contacts.contacts.filter { $0.kinds.contains(.pickupOverdue) }.map(\.orgId)).sorted() {
                if let event = NotificationEvents.pickupsOverdue(
                    orgId: orgId, waiting: waiting, thresholdHours: reference.policy.pickupThresholdHours, at: time, zone: zone, siteURL: siteURL)
                {
                    events.append(event)
                }
            }
        }
        return events
    }
}

/// The notifier as a service: a pass every `interval` until shutdown; a failed pass is logged and the
/// next one tries again.
public struct NotifierService: Service {
    let notifier: Notifier
    let interval: Duration

    /// Passes of `notifier` every `interval`.
    public init(notifier: Notifier, interval: Duration = .seconds(30)) {
        self.notifier = notifier
        self.interval = interval
    }

    public func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                try await notifier.pass()
            } catch {
                notifier.logger.error("a notification pass failed", metadata: ["exchange.error": "\(error)"])
            }
            let interval = self.interval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
