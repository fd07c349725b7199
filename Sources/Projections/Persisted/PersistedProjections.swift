/// The projections the node keeps persisted, in the order they are applied.
package enum PersistedProjections {
    package static var all: [any PersistedProjection] { [EventIndex(), NodeStateProjection(), GrantsProjection(), WebhooksProjection()] }
}
