package import Foundation
package import X509

/// The SDK envelope profile's transport models applied to an XHE: `tm-base-ext-sigenc` encrypts
/// the payload to the recipient organisation's O2O certificate and then signs the whole envelope
/// (so the receiver checks the signature before it decrypts); `tm-base` does neither.
package enum XHESecurity {
    /// Builds the XHE bytes for `envelope`, whose payload content must be `.xml`.
    package static func seal(_ envelope: XHEEnvelope, model: XHEEnvelope.TransportModel, signer: SigningIdentity?,
                             recipient: Certificate?, data: XMLEncryption.DataAlgorithm = .aes256CBC,
                             keyTransport: XMLEncryption.KeyTransport = .rsaOAEPMGF1P) throws(XMLSecurityError) -> [UInt8] {
        switch model {
        case .base:
            return envelope.xml()
        case .signedAndEncrypted:
            guard let signer else { throw .keyUnusable("tm-base-ext-sigenc needs our O2O signing identity") }
            guard let recipient else { throw .keyUnusable("tm-base-ext-sigenc needs the recipient's O2O certificate") }
            guard case .xml(let plaintext) = envelope.payload.content else {
                throw .encryptedDataInvalid("the payload to seal must be an unencrypted XML element")
            }
            var sealed = envelope
            sealed.payload.content = .encrypted(try XMLEncryption.encrypt(plaintext, to: recipient, data: data, keyTransport: keyTransport))
            return try XMLSigner.signEnveloped(sealed.xml(), identity: signer)
        }
    }

    /// An XHE after ``open(_:verifier:decryptionIdentity:at:requireSignature:)``.
    package struct Opened: Sendable {
        package let envelope: XHEEnvelope
        /// The payload element (decrypted when it was encrypted), nil for text payloads.
        package let payload: [UInt8]?
        /// The signer, when the envelope was signed.
        package let signer: Certificate?
    }

    /// Verifies (when signed, or always when `requireSignature`) and decrypts an XHE.
    package static func open(_ bytes: [UInt8], verifier: XMLSignatureVerifier, decryptionIdentity: SigningIdentity?, at time: Date,
                             requireSignature: Bool = true) async throws(XMLSecurityError) -> Opened {
        let document: XMLDocument
        do { document = try XMLDocument(bytes: bytes, limits: verifier.limits) } catch { throw .xml(error) }
        var signed = false
        document.root.forEachElement { e in if e.isNamed(XMLNamespaces.ds, "Signature") { signed = true } }
        var signer: Certificate?
        if signed || requireSignature {
            signer = try await verifier.verify(document, at: time).signer
        }
        let envelope: XHEEnvelope
        do { envelope = try XHEEnvelope(document: document) } catch { throw .encryptedDataInvalid(error.description) }
        switch envelope.payload.content {
        case .xml(let bytes):
            return Opened(envelope: envelope, payload: bytes, signer: signer)
        case .text:
            return Opened(envelope: envelope, payload: nil, signer: signer)
        case .notRead:
            throw .encryptedDataInvalid("the payload was not read")
        case .encrypted(let data):
            guard let decryptionIdentity else { throw .keyUnusable("the payload is encrypted and no decryption key is configured") }
            let plain = try XMLEncryption.decrypt(data, with: decryptionIdentity)
            return Opened(envelope: envelope, payload: plain, signer: signer)
        }
    }
}
