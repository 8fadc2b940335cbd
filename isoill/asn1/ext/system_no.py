"""``SystemNo``, OID 1.2.124.10161.2 (Library and Archives Canada's system number).

Source: ``reference/asn1/oclc-ill-req-ext.asn`` (YAZ), where it follows
``OCLCILLRequestExtension`` inside that module; it is registered under its own OID and
carries e.g. an OCLC number, so it gets its own Python module. That module has no tagging
default (EXPLICIT), and this type has no tags at all.

Two slips in the source text, and what is done about them:

* ``SEQUENCE SIZE (1..10) OF SEQUENCE`` lacks the ``{`` that opens the inner SEQUENCE; it is
  read as ``SEQUENCE SIZE (1..10) OF SEQUENCE { system System, recordNo RecordNo }``.
* ``RecordNo ::= ILL-String (SIZE (1..50))`` puts a size constraint on a CHOICE, which
  X.680 does not allow. The evident intent, at most 50 characters of text, is implemented by
  putting ``SIZE (1..50)`` on each string alternative of ILL-String.
"""
# mypy: allow-subclassing-any

from pyasn1.type import constraint, namedtype, namedval, univ

from isoill.asn1.ill9702 import ILLString

__all__ = ["OID", "RecordNo", "System", "SystemNo"]

OID = "1.2.124.10161.2"


# System ::= ENUMERATED {
#  dobis (1),
#  candoc (2),
#  oclc (3),
#  rlin (4),
#  utlas (5),
#  other (6)
# }
# --Do not include the acronym for the system as part of the record number unless
# --"other (6)" is chosen.
class System(univ.Enumerated):
    namedValues = namedval.NamedValues(
        ("dobis", 1), ("candoc", 2), ("oclc", 3), ("rlin", 4), ("utlas", 5), ("other", 6)
    )


#  RecordNo ::= ILL-String (SIZE (1..50))
class RecordNo(ILLString):
    componentType = namedtype.NamedTypes(
        *(
            namedtype.NamedType(
                alternative.name,
                alternative.asn1Object.subtype(subtypeSpec=constraint.ValueSizeConstraint(1, 50)),
            )
            for alternative in ILLString.componentType.namedTypes
        )
    )


# SystemNo ::= SEQUENCE SIZE (1..10) OF SEQUENCE
#  system System,
#  recordNo RecordNo
# }
class SystemNo(univ.SequenceOf):
    componentType = univ.Sequence(
        componentType=namedtype.NamedTypes(
            namedtype.NamedType("system", System()),
            namedtype.NamedType("recordNo", RecordNo()),
        )
    )
    subtypeSpec = constraint.ConstraintsIntersection(constraint.ValueSizeConstraint(1, 10))
