"""Tag builders shared by the extension modules.

Context-specific tags only: every tag in the extension modules is ``[n]`` without a class.
Pass the result to ``subtype(explicitTag=...)`` or ``subtype(implicitTag=...)``.
"""

from pyasn1.type import tag

__all__ = ["explicit", "implicit", "implicit_constructed"]


def explicit(number: int) -> tag.Tag:
    """``[number]`` as an explicit tag: always a constructed wrapper around the inner TLV."""
    return tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, number)


def implicit(number: int) -> tag.Tag:
    """``[number] IMPLICIT`` replacing the tag of a primitive type (INTEGER, strings, NULL...)."""
    return tag.Tag(tag.tagClassContext, tag.tagFormatSimple, number)


def implicit_constructed(number: int) -> tag.Tag:
    """``[number] IMPLICIT`` replacing the tag of a SEQUENCE, SET, SEQUENCE OF or EXTERNAL."""
    return tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, number)
