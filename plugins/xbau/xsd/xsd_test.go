package xsd_test

import (
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/plugins/xbau/xsd"
)

const schema = `<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="urn:test" targetNamespace="urn:test" elementFormDefault="qualified">
  <xs:simpleType name="Code"><xs:restriction base="xs:token"><xs:pattern value="[A-Z]{2}-\d+"/><xs:maxLength value="8"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="ShortCode"><xs:restriction base="t:Code"><xs:maxLength value="5"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="Colour"><xs:restriction base="xs:token"><xs:enumeration value="rot"/><xs:enumeration value="gruen"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="Money"><xs:restriction base="xs:decimal"><xs:totalDigits value="6"/><xs:fractionDigits value="2"/></xs:restriction></xs:simpleType>
  <xs:complexType name="Item">
    <xs:sequence>
      <xs:element name="code" type="t:Code"/>
      <xs:element name="short" type="t:ShortCode" minOccurs="0"/>
      <xs:choice>
        <xs:element name="colour" type="t:Colour"/>
        <xs:element name="price" type="t:Money"/>
      </xs:choice>
    </xs:sequence>
    <xs:attribute name="id" type="xs:positiveInteger" use="required"/>
  </xs:complexType>
  <xs:element name="order">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="date" type="xs:date"/>
        <xs:element name="item" type="t:Item" maxOccurs="unbounded"/>
        <xs:element name="paid" type="xs:boolean" minOccurs="0"/>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>`

func load(t *testing.T) *xsd.Schema {
	t.Helper()
	s, err := xsd.Load([]byte(schema))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const valid = `<?xml version="1.0"?>
<order xmlns="urn:test">
  <date>2025-11-03</date>
  <item id="1"><code>AB-12</code><short>AB-1</short><colour>rot</colour></item>
  <item id="2"><code> CD-7 </code><price>1234.50</price></item>
  <paid>true</paid>
</order>`

func TestValid(t *testing.T) {
	t.Parallel()
	if err := load(t).Validate([]byte(valid)); err != nil {
		t.Fatal(err)
	}
}

func TestViolations(t *testing.T) {
	t.Parallel()
	s := load(t)
	cases := map[string]struct{ from, to, want string }{
		"missing element":   {`<date>2025-11-03</date>`, ``, "expected date"},
		"wrong order":       {`<paid>true</paid>`, ``, ""}, // dropping optional is fine
		"unexpected":        {`<paid>true</paid>`, `<paid>true</paid><extra/>`, "unexpected element extra"},
		"bad date":          {`2025-11-03`, `2025-13-03`, "not a valid date"},
		"bad boolean":       {`<paid>true</paid>`, `<paid>ja</paid>`, "xs:boolean"},
		"pattern":           {`AB-12`, `ab-12`, "does not match the pattern"},
		"derived maxLength": {`<short>AB-1</short>`, `<short>AB-123</short>`, "longer than 5"},
		"enumeration":       {`rot`, `blau`, "not one of rot, gruen"},
		"choice":            {`<colour>rot</colour>`, ``, "expected one of colour, price"},
		"fraction digits":   {`1234.50`, `1234.567`, "more than 2 decimal places"},
		"total digits":      {`1234.50`, `123456.5`, "more than 6 digits"},
		"insignificant 0s":  {`1234.50`, `01234.500`, ""},
		"missing attribute": {`<item id="1">`, `<item>`, "attribute id is required"},
		"bad attribute":     {`<item id="1">`, `<item id="0">`, "xs:positiveInteger"},
		"unknown attribute": {`<item id="2">`, `<item id="2" colour="x">`, "attribute colour is not allowed"},
		"text in complex":   {`<date>`, `Hallo<date>`, "must hold elements"},
		"element in simple": {`<code>AB-12</code>`, `<code><b/></code>`, "must hold text"},
		"wrong namespace":   {`xmlns="urn:test"`, `xmlns="urn:other"`, "namespace"},
		"unknown root":      {`<order xmlns="urn:test">`, `<ordre xmlns="urn:test">`, "not well-formed"},
		"too many":          {`<item id="2">`, `<item id="2">`, ""},
	}
	for name, c := range cases {
		doc := strings.Replace(valid, c.from, c.to, 1)
		err := s.Validate([]byte(doc))
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", name, err, c.want)
		}
	}
	// Problems carry line and path.
	err := s.Validate([]byte(strings.Replace(valid, "rot", "blau", 1)))
	if err == nil || !strings.Contains(err.Error(), "line 4: /order/item/colour") {
		t.Errorf("location: %v", err)
	}
}

func TestUnsupportedConstructsAreRejected(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct{ from, to, want string }{
		"xs:any":       {`<xs:element name="short"`, `<xs:any/><xs:element name="short"`, "xs:any"},
		"element ref":  {`<xs:element name="paid" type="xs:boolean" minOccurs="0"/>`, `<xs:element ref="t:paid"/>`, "without name"},
		"unknown type": {`type="xs:boolean"`, `type="xs:duration"`, "xs:duration"},
		"undefined":    {`type="t:Money"`, `type="t:Cash"`, "Cash is not defined"},
		"facet":        {`<xs:maxLength value="8"/>`, `<xs:whiteSpace value="collapse"/>`, "xs:whiteSpace"},
		"unqualified":  {`elementFormDefault="qualified"`, `elementFormDefault="unqualified"`, "qualified"},
	} {
		_, err := xsd.Load([]byte(strings.Replace(schema, c.from, c.to, 1)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", name, err, c.want)
		}
	}
}
