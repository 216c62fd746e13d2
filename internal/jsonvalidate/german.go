package jsonvalidate

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// germanMessage says in German, for the clerk or citizen filling in a form,
// what is wrong with a value. It covers the keywords forms use; for any
// other it returns "" and the English message stands.
func germanMessage(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Required:
		if len(k.Missing) == 1 {
			return fmt.Sprintf("Pflichtangabe %s fehlt.", quoteDE(k.Missing[0]))
		}
		return fmt.Sprintf("Pflichtangaben %s fehlen.", joinDE(k.Missing))
	case *kind.Type:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = typeDE(w)
		}
		return fmt.Sprintf("Erwartet wird %s, angegeben ist %s.", strings.Join(want, " oder "), typeDE(k.Got))
	case *kind.Enum:
		if len(k.Want) == 1 {
			return fmt.Sprintf("Der Wert muss %s sein.", valueDE(k.Want[0]))
		}
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = valueDE(w)
		}
		return fmt.Sprintf("Der Wert muss einer von %s sein.", strings.Join(want, ", "))
	case *kind.Const:
		return fmt.Sprintf("Der Wert muss %s sein.", valueDE(k.Want))
	case *kind.Format:
		return fmt.Sprintf("%s ist kein gültiges Format %s.", valueDE(k.Got), formatDE(k.Want))
	case *kind.MinLength:
		return fmt.Sprintf("Bitte mindestens %d Zeichen angeben (angegeben: %d).", k.Want, k.Got)
	case *kind.MaxLength:
		return fmt.Sprintf("Bitte höchstens %d Zeichen angeben (angegeben: %d).", k.Want, k.Got)
	case *kind.Pattern:
		return fmt.Sprintf("%s hat nicht die erwartete Form (Muster %s).", quoteDE(k.Got), k.Want)
	case *kind.Minimum:
		return fmt.Sprintf("Der Wert muss mindestens %s sein (angegeben: %s).", ratDE(k.Want), ratDE(k.Got))
	case *kind.Maximum:
		return fmt.Sprintf("Der Wert darf höchstens %s sein (angegeben: %s).", ratDE(k.Want), ratDE(k.Got))
	case *kind.ExclusiveMinimum:
		return fmt.Sprintf("Der Wert muss größer als %s sein (angegeben: %s).", ratDE(k.Want), ratDE(k.Got))
	case *kind.ExclusiveMaximum:
		return fmt.Sprintf("Der Wert muss kleiner als %s sein (angegeben: %s).", ratDE(k.Want), ratDE(k.Got))
	case *kind.MultipleOf:
		return fmt.Sprintf("Der Wert muss ein Vielfaches von %s sein (angegeben: %s).", ratDE(k.Want), ratDE(k.Got))
	case *kind.MinItems:
		return fmt.Sprintf("Bitte mindestens %d Einträge angeben (angegeben: %d).", k.Want, k.Got)
	case *kind.MaxItems:
		return fmt.Sprintf("Bitte höchstens %d Einträge angeben (angegeben: %d).", k.Want, k.Got)
	case *kind.UniqueItems:
		return fmt.Sprintf("Die Einträge %d und %d sind gleich; jeder Eintrag darf nur einmal vorkommen.", k.Duplicates[0]+1, k.Duplicates[1]+1)
	case *kind.MinProperties:
		return fmt.Sprintf("Bitte mindestens %d Angaben machen (angegeben: %d).", k.Want, k.Got)
	case *kind.MaxProperties:
		return fmt.Sprintf("Bitte höchstens %d Angaben machen (angegeben: %d).", k.Want, k.Got)
	case *kind.AdditionalProperties:
		if len(k.Properties) == 1 {
			return fmt.Sprintf("Die Angabe %s ist hier nicht vorgesehen.", quoteDE(k.Properties[0]))
		}
		return fmt.Sprintf("Die Angaben %s sind hier nicht vorgesehen.", joinDE(k.Properties))
	case *kind.FalseSchema:
		return "Diese Angabe ist hier nicht vorgesehen."
	}
	return ""
}

// typeDE names a JSON type as a form filler knows it.
func typeDE(t string) string {
	switch t {
	case "string":
		return "ein Text"
	case "number":
		return "eine Zahl"
	case "integer":
		return "eine ganze Zahl"
	case "boolean":
		return "Ja oder Nein"
	case "object":
		return "eine Gruppe von Angaben"
	case "array":
		return "eine Liste"
	case "null":
		return "keine Angabe"
	}
	return t
}

// formatDE names the formats forms use.
func formatDE(f string) string {
	switch f {
	case "date":
		return "für ein Datum (JJJJ-MM-TT)"
	case "date-time":
		return "für Datum und Uhrzeit"
	case "email":
		return "für eine E-Mail-Adresse"
	case "uri":
		return "für eine Internetadresse"
	}
	return quoteDE(f)
}

func quoteDE(s string) string { return "„" + s + "“" }

func joinDE(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quoteDE(n)
	}
	return strings.Join(q, ", ")
}

func valueDE(v any) string {
	switch x := v.(type) {
	case string:
		return quoteDE(x)
	case bool:
		if x {
			return "Ja"
		}
		return "Nein"
	case nil:
		return "leer"
	case *big.Rat:
		return ratDE(x)
	}
	return strings.Replace(fmt.Sprint(v), ".", ",", 1)
}

// ratDE writes a number with a decimal comma, without trailing zeros.
func ratDE(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strings.Replace(strconv.FormatFloat(f, 'f', -1, 64), ".", ",", 1)
}
