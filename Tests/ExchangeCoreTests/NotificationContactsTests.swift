import ExchangeCore
import Testing

@Suite("contacts.csv: who a participant wants told of what")
struct NotificationContactsTests {
    @Test("email and webhook contacts with their events; bad rows named by line")
    func parse() throws {
        let text = """
            orgId,channel,address,events,secret
            061010,email,clerk@ridgeline.example.org,file-rejected;pickup-overdue,
            061010,webhook,https://sis.example.org/ktsx,all,a-secret-of-sixteen+
            165901,webhook,http://127.0.0.1:9000/hook,waiver-decided,another-long-secret

            """
        let contacts = try NotificationContacts.parse(Array(text.utf8), participants: ["061010", "165901"])
        #expect(contacts.contacts.count == 3)
        #expect(contacts.contacts(of: "061010", for: .fileRejected).map(\.channel) == [.email, .webhook])
        #expect(contacts.contacts(of: "061010", for: .waiverDecided).map(\.key) == ["webhook:https://sis.example.org/ktsx"])
        #expect(contacts.contacts(of: "165901", for: .waiverDecided).first?.secret == "another-long-secret")
        let bad = """
            orgId,channel,address,events,secret
            999999,email,a@b.org,all,
            061010,sms,555,all,
            061010,email,not-an-address,all,
            061010,webhook,http://evil.example/hook,all,a-secret-of-sixteen+
            061010,webhook,https://ok.example/hook,all,short
            061010,email,a@b.org,everything,
            061010,email,a@b.org,,
            061010,email,a@b.org Bcc: x@y.org,all,

            """
        #expect {
            try NotificationContacts.parse(Array(bad.utf8), participants: ["061010"])
        } throws: { error in
            let lines = (error as? ConfigurationErrors)?.errors.map(\.description) ?? []
            return lines.count == 8 && lines[0].contains(":2:") && lines[0].contains("not a participant") && lines[1].contains("email or webhook")
                && lines[2].contains("not an email address") && lines[3].contains("http:// on 127.0.0.1") && lines[4].contains("16 characters")
                && lines[5].contains("'everything'") && lines[6].contains("events is empty") && lines[7].contains("not an email address")
        }
    }
}
