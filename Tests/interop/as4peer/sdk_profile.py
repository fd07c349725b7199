"""The SDK values as a profile of the PyPI `as4` package (0.2.0), so that it can act as an independent SDK access point in Kvitto's interop tests. Reuses the package's Peppol WS-Security builders; no SBDH."""
import gzip
from datetime import UTC, datetime
from typing import Any, Self
from uuid import uuid4

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree
from pydantic import BaseModel, ConfigDict

from as4 import (AS4ExternalParty, AS4InternalParty, AS4ParseContext, AS4Profile, AS4References,
                 BaseProfileLevelException)
from as4.core.message import AS4Message
from as4.core.receipt import AS4Receipt
from as4.errors import ParticipantNotServicedError, PayloadPartNotFoundException, SoapPartNotFoundException, UserMessageNotFoundException
from as4.models.common import NAMESPACES
from as4.models.ebms.message_info import MessageId, MessageInfo, Timestamp
from as4.models.ebms.user_message import (Action, AgreementRef, CollaborationInfo, ConversationId,
    MessageProperties, PartInfo, PartProperties, PartyInfo, PayloadInfo, Property, Service, UserMessage)
from as4.profiles.peppol.message import PeppolAS4Message
from as4.utils.cipher_handler import CipherHandler
from as4.utils.mime_handler import MIMEHandler

SDK_PARTY_TYPE = "urn:fdc:digg.se:edelivery:transportprofile:as4:partytype:ap"
SDK_SERVICE = "bdx:noprocess"
SDK_SERVICE_TYPE = "urn:fdc:digg.se:edelivery:process"
SDK_ACTION = ("busdox-docid-qns::urn:riv:infrastructure:messaging:MessageWithAttachments:3::"
              "messagePayload##3.0::tm-base-ext-sigenc")
ISO6523 = "iso6523-actorid-upis"
PAYLOAD_CID = "message"


class SdkBuilderArgs(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    namespace_map: dict[str, str] = NAMESPACES      # read by PeppolAS4Message.get_signature
    original_sender: str
    final_recipient: str
    service: str = SDK_SERVICE
    service_type: str = SDK_SERVICE_TYPE
    action: str = SDK_ACTION
    agreement_ref: str | None = None
    # SDK: the AS4 ConversationId equals the XHE ID; None lets the package choose one.
    conversation_id: str | None = None


class SdkProfileException(BaseProfileLevelException):   # EBMS:0004
    description = "Message does not follow the SDK AS4 profile"


class SdkAS4Message(PeppolAS4Message):
    @classmethod
    def get_user_message(cls, local_party, remote_party, builder_args: SdkBuilderArgs, references) -> UserMessage:
        part_properties = PartProperties(properties=[
            Property(name="MimeType", value="application/xml"),
            Property(name="CompressionType", value="application/gzip"),
        ])
        return UserMessage(
            message_info=MessageInfo(timestamp=Timestamp(value=datetime.now(UTC)),
                                     message_id=MessageId(value=references.message_id)),
            party_info=PartyInfo(party_from=local_party.identity.to_party_from(),
                                 party_to=remote_party.identity.to_party_to()),
            collaboration_info=CollaborationInfo(
                agreement_ref=AgreementRef(value=builder_args.agreement_ref) if builder_args.agreement_ref else None,
                service=Service(value=builder_args.service, type_value=builder_args.service_type),
                action=Action(value=builder_args.action),
                conversation_id=ConversationId(value=builder_args.conversation_id or references.conversation_id),
            ),
            message_properties=MessageProperties(properties=[
                Property(name="originalSender", property_type=ISO6523, value=builder_args.original_sender),
                Property(name="finalRecipient", property_type=ISO6523, value=builder_args.final_recipient),
            ]),
            payload_info=PayloadInfo(part_info=[
                PartInfo(href=f"cid:{cid}", part_properties=part_properties)
                for cid in references.attachment_id_encrypted_data_id_map
            ]),
        )

    @classmethod
    def build_message(cls, payload: bytes, *, local_party, remote_party, builder_args, references) -> Self:
        if not references.attachment_id_encrypted_data_id_map:
            references.attachment_id_encrypted_data_id_map[PAYLOAD_CID] = f"ED-{uuid4()}"
        compressed = gzip.compress(payload)                                   # compress, then sign, then encrypt
        session_key, encrypted = CipherHandler.encrypt_payload(compressed)    # AES-128-GCM, IV||ct||tag
        encrypted_session_key = remote_party.credentials.rsa_public_key.encrypt(
            session_key, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
        cid, _ = references.encrypted_data_attachment_mapping()
        envelope = cls.get_soap_envelope(local_party, remote_party, builder_args, references,
                                         encrypted_session_key, compressed_payloads={cid: compressed})
        return cls(soap_envelope=envelope, message_id=references.message_id, messaging_id=references.messaging_id,
                   mime_attachments={cid: encrypted}, decrypted_data={cid: payload}, profile_name="sdk")

    @classmethod
    def process(cls, fields: dict[str, Any], parse_context: AS4ParseContext, soap_envelope_element, mime_attachments):
        # generic AS4 checks only: skip PeppolAS4Message.process (Peppol party type + SBDH)
        fields = AS4Message.process.__func__(cls, fields, parse_context, soap_envelope_element, mime_attachments)
        um = fields["soap_envelope"].header.messaging.user_message
        if um is None:
            raise UserMessageNotFoundException()
        for name, party in (("From", um.party_info.party_from), ("To", um.party_info.party_to)):
            if party.party_id.type_value != SDK_PARTY_TYPE:
                raise SdkProfileException(f"PartyInfo/{name}/PartyId/@type must be {SDK_PARTY_TYPE}")
        props = um.message_properties
        if props is None or props.original_sender is None or props.final_recipient is None:
            raise SdkProfileException("originalSender and finalRecipient message properties are required")
        fields["sender"], fields["recipient"] = props.original_sender.value, props.final_recipient.value
        if parse_context.accept_participant is not None:
            try:
                parse_context.accept_participant(fields["recipient"])
            except ParticipantNotServicedError as exc:           # would otherwise escape receive()
                raise SdkProfileException("finalRecipient is not serviced here") from exc
        return fields


class SdkAS4Receipt(AS4Receipt):
    pass


class SdkAS4Profile(AS4Profile[SdkAS4Message, SdkAS4Receipt, SdkBuilderArgs]):
    @classmethod
    def get_profile_name(cls) -> str:
        return "sdk"

    @classmethod
    def message_class(cls):
        return SdkAS4Message

    @classmethod
    def receipt_class(cls):
        return SdkAS4Receipt

    @classmethod
    def unpack_message(cls, payload: bytes) -> tuple[bytes, dict[str, bytes]]:
        soap_part, encrypted_part = MIMEHandler.parse(payload)
        soap = soap_part.get_payload(decode=True)
        data = encrypted_part.get_payload(decode=True)
        cid = MIMEHandler.get_content_id(encrypted_part)
        if not isinstance(soap, bytes):
            raise SoapPartNotFoundException()
        if not isinstance(data, bytes) or not cid:
            raise PayloadPartNotFoundException()
        return soap, {cid: data}

    @classmethod
    def parse_receipt(cls, payload: bytes, expected_signer: x509.Certificate) -> SdkAS4Receipt:
        return SdkAS4Receipt.parse(payload, expected_signer)

    @classmethod
    def build_message(cls, payload, *, local_party, remote_party, builder_args, references=None):
        return SdkAS4Message.build_message(payload, local_party=local_party, remote_party=remote_party,
                                           builder_args=builder_args, references=references or AS4References())
