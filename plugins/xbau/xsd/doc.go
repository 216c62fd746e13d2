// Package xsd validates XML documents against a W3C XML Schema written in
// a deliberately small subset of XSD 1.0, the subset the xbau plugin's
// schema uses. Go has no XSD validator of note and libxml2 would need cgo,
// so this package implements the subset exactly and rejects every schema
// construct outside it when the schema is loaded (never silently ignoring
// a rule).
//
// Supported: one target namespace with elementFormDefault="qualified";
// global xs:element, named xs:complexType and xs:simpleType; complex types
// with an xs:sequence of xs:element and xs:choice (of elements) particles
// with minOccurs/maxOccurs, and xs:attribute (use optional|required);
// elements with a named or an anonymous type; simple types by xs:restriction
// of a built-in type with the facets xs:enumeration, xs:pattern,
// xs:minLength, xs:maxLength, xs:totalDigits and xs:fractionDigits.
// Built-in types: xs:string, xs:token, xs:normalizedString, xs:date,
// xs:dateTime, xs:decimal, xs:integer, xs:nonNegativeInteger,
// xs:positiveInteger, xs:boolean, xs:anyURI.
//
// Element content is element-only (no mixed content); whitespace between
// elements is ignored.
package xsd
