/// Why a signature did not verify, or encryption/decryption failed. Security code fails closed:
/// anything not exactly as the profile requires is one of these, never a pass.
package enum XMLSecurityError: Error, Equatable, Sendable, CustomStringConvertible {
    case xml(XMLError)
    /// No `ds:Signature` where the profile requires one.
    case signatureMissing
    /// More than one `ds:Signature` in the document (a wrapping attempt or a second signer).
    case multipleSignatures
    /// The signature is not the last child of the document element.
    case signatureMisplaced
    /// The signature's structure is not the profile's (unexpected or missing element).
    case unexpectedStructure(String)
    /// An algorithm outside the profile.
    case unsupportedAlgorithm(String)
    /// The reference does not cover exactly the whole document (`URI=""`).
    case referenceNotWholeDocument(String)
    /// The digest of the signed content differs: the document was changed after signing.
    case digestMismatch
    /// The signature value does not verify with the certificate's key (wrong key, or SignedInfo
    /// changed).
    case signatureInvalid
    /// KeyInfo carries no usable X.509 certificate.
    case certificateMissing
    /// The certificate cannot be parsed or its key is not usable (RSA ≥ 2048 bits required).
    case certificateUnusable(String)
    /// The certificate does not chain to a configured trust anchor, is expired or not yet valid,
    /// or lacks the key usage.
    case untrusted(String)
    /// The encrypted structure could not be read.
    case encryptedDataInvalid(String)
    /// Decryption failed (wrong key, corrupted ciphertext or padding).
    case decryptionFailed(String)
    /// Our own key or certificate could not be used for signing/encryption.
    case keyUnusable(String)

    package var code: String {
        switch self {
        case .xml(let e): e.code
        case .signatureMissing: "signature.missing"
        case .multipleSignatures: "signature.multiple"
        case .signatureMisplaced: "signature.misplaced"
        case .unexpectedStructure: "signature.unexpected_structure"
        case .unsupportedAlgorithm: "security.unsupported_algorithm"
        case .referenceNotWholeDocument: "signature.reference_not_whole_document"
        case .digestMismatch: "signature.digest_mismatch"
        case .signatureInvalid: "signature.invalid"
        case .certificateMissing: "signature.certificate_missing"
        case .certificateUnusable: "signature.certificate_unusable"
        case .untrusted: "signature.untrusted"
        case .encryptedDataInvalid: "encryption.invalid_structure"
        case .decryptionFailed: "encryption.decryption_failed"
        case .keyUnusable: "security.key_unusable"
        }
    }

    package var description: String {
        switch self {
        case .xml(let e): e.description
        case .signatureMissing: "\(code): the document is not signed; tm-base-ext-sigenc requires an enveloped ds:Signature"
        case .multipleSignatures: "\(code): the document has more than one ds:Signature; exactly one is allowed"
        case .signatureMisplaced: "\(code): ds:Signature must be the last child of the document element"
        case .unexpectedStructure(let d): "\(code): \(d)"
        case .unsupportedAlgorithm(let a): "\(code): algorithm \(a) is not allowed by the SDK profile"
        case .referenceNotWholeDocument(let uri): "\(code): the signature must reference the whole document (URI=\"\"), found URI=\"\(uri)\""
        case .digestMismatch: "\(code): the signed content was changed after signing (digest differs)"
        case .signatureInvalid: "\(code): the signature value does not verify with the certificate in KeyInfo (wrong key or altered SignedInfo)"
        case .certificateMissing: "\(code): KeyInfo has no X509Certificate"
        case .certificateUnusable(let d): "\(code): \(d)"
        case .untrusted(let d): "\(code): the signer's certificate is not trusted: \(d)"
        case .encryptedDataInvalid(let d): "\(code): \(d)"
        case .decryptionFailed(let d): "\(code): \(d)"
        case .keyUnusable(let d): "\(code): \(d)"
        }
    }
}
