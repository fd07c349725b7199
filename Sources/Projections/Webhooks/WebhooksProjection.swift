package import Ledger

/// Every webhook subscription ever made (rows keyed by id = the seq of its `webhook.created`),
/// deleted ones included, so that what was subscribed when can be answered.
package struct WebhooksProjection: PersistedProjection {
    package let name = "webhooks"
    package let version = 1
    package let tables = [Table.webhooks]

    enum Table {
        static let webhooks = "webhooks"
    }

    package init() {}

    package func apply(_ event: Event, to rows: ProjectionRows) throws {
        guard event.type.hasPrefix("webhook.") else { return }
        if event.type == WebhookEventType.created {
            guard let w = Webhook(created: event) else { return }
            try rows.put(Table.webhooks, GrantsProjection.id(w.id), RecordCoding.encode(w.json))
            return
        }
        guard let id = event.payload["webhook"]?.intValue, id > 0,
              let bytes = try rows.get(Table.webhooks, GrantsProjection.id(UInt64(id))) else { return }
        var w = try Webhook(row: RecordCoding.decode(bytes, "webhook"))
        w.apply(event)
        try rows.put(Table.webhooks, GrantsProjection.id(w.id), RecordCoding.encode(w.json))
    }

    /// One webhook by id.
    package static func webhook(_ id: UInt64, in storage: any ProjectionStorage) throws -> Webhook? {
        try storage.read { r in
            try r.get("webhooks." + Table.webhooks, GrantsProjection.id(id)).map { try Webhook(row: RecordCoding.decode($0, "webhook")) }
        }
    }

    /// Every webhook, by id.
    package static func all(in storage: any ProjectionStorage) throws -> [Webhook] {
        try storage.read { r in
            var out: [Webhook] = []
            try r.scan("webhooks." + Table.webhooks, from: nil) { _, v in
                out.append(try Webhook(row: RecordCoding.decode(v, "webhook")))
                return true
            }
            return out
        }
    }
}
