package calendar

import (
	"fmt"
	"slices"
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/de"
)

// This file corrects and completes the holiday lists of rickar/cal/v2/de
// (v2.1.13) where they differ from the Länder's holiday laws. Every entry is
// a rule of the library's own types (cal.Holiday), never a list of dates.
var (
	// reformationstag2017 is the 500th anniversary of the Reformation,
	// 31 October 2017, a public holiday once in every Land.
	reformationstag2017 = de.Reformationstag.Clone(&cal.Holiday{
		Name:        "Reformationstag (500. Jahrestag der Reformation)",
		Description: "einmaliger Feiertag in allen Ländern",
		StartYear:   2017,
		EndYear:     2017,
	})

	// reformationstagNord is Reformation Day in Bremen, Hamburg, Lower
	// Saxony and Schleswig-Holstein: permanent since 2018, and held in 2017
	// as the anniversary; the library lists it without a start year.
	reformationstagNord = de.Reformationstag.Clone(&cal.Holiday{StartYear: 2017})

	// frauentagBerlin is International Women's Day in Berlin since 2019; the
	// library lists it without a start year.
	frauentagBerlin = de.Frauentag.Clone(&cal.Holiday{StartYear: 2019})

	// frauentagMV is International Women's Day in Mecklenburg-Vorpommern
	// since 2023; the library does not list it.
	frauentagMV = de.Frauentag.Clone(&cal.Holiday{StartYear: 2023})

	// befreiungBerlin2020 and befreiungBerlin2025 are the 75th and 80th
	// anniversaries of the end of the Second World War, 8 May 2020 and
	// 8 May 2025, public holidays once in Berlin.
	befreiungBerlin2020 = &cal.Holiday{
		Name:        "Tag der Befreiung",
		Description: "75. Jahrestag, einmaliger Feiertag in Berlin",
		Type:        cal.ObservancePublic,
		Month:       time.May,
		Day:         8,
		Func:        cal.CalcDayOfMonth,
		StartYear:   2020,
		EndYear:     2020,
	}
	befreiungBerlin2025 = &cal.Holiday{
		Name:        "Tag der Befreiung",
		Description: "80. Jahrestag, einmaliger Feiertag in Berlin",
		Type:        cal.ObservancePublic,
		Month:       time.May,
		Day:         8,
		Func:        cal.CalcDayOfMonth,
		StartYear:   2025,
		EndYear:     2025,
	}

	// friedensfestAugsburg is the Augsburger Hohes Friedensfest, 8 August,
	// a public holiday in the city of Augsburg only.
	friedensfestAugsburg = &cal.Holiday{
		Name:  "Augsburger Hohes Friedensfest",
		Type:  cal.ObservancePublic,
		Month: time.August,
		Day:   8,
		Func:  cal.CalcDayOfMonth,
	}
)

// land is one calendar's definition.
type land struct {
	id       string
	name     string
	holidays []*cal.Holiday
}

// lands lists every calendar, nationwide first and Thuringia's before the
// other Länder's local variants.
var lands = []land{
	{"DE", "Deutschland (bundesweite Feiertage)", withReformation2017(de.Holidays)},
	{"DE-TH", "Thüringen", withReformation2017(de.HolidaysTH)},
	{"DE-TH-KATH", "Thüringen, Gemeinden mit Fronleichnam (überwiegend katholisch, u. a. Eichsfeld)",
		withReformation2017(de.HolidaysTH, de.Fronleichnam)},
	{"DE-BW", "Baden-Württemberg", withReformation2017(de.HolidaysBW)},
	{"DE-BY", "Bayern (landesweite Feiertage)", withReformation2017(de.HolidaysBY)},
	{"DE-BY-KATH", "Bayern, Gemeinden mit überwiegend katholischer Bevölkerung (mit Mariä Himmelfahrt)",
		withReformation2017(de.HolidaysBY, de.MariaHimmelfahrt)},
	{"DE-BY-AUGSBURG", "Bayern, Stadt Augsburg (mit Mariä Himmelfahrt und Hohem Friedensfest)",
		withReformation2017(de.HolidaysBY, de.MariaHimmelfahrt, friedensfestAugsburg)},
	{"DE-BE", "Berlin", withReformation2017(replace(de.HolidaysBE, de.Frauentag, frauentagBerlin),
		befreiungBerlin2020, befreiungBerlin2025)},
	{"DE-BB", "Brandenburg", withReformation2017(de.HolidaysBB)},
	{"DE-HB", "Bremen", withReformation2017(replace(de.HolidaysHB, de.Reformationstag, reformationstagNord))},
	{"DE-HH", "Hamburg", withReformation2017(replace(de.HolidaysHH, de.Reformationstag, reformationstagNord))},
	{"DE-HE", "Hessen", withReformation2017(de.HolidaysHE)},
	{"DE-MV", "Mecklenburg-Vorpommern", withReformation2017(de.HolidaysMV, frauentagMV)},
	{"DE-NI", "Niedersachsen", withReformation2017(replace(de.HolidaysNI, de.Reformationstag, reformationstagNord))},
	{"DE-NW", "Nordrhein-Westfalen", withReformation2017(de.HolidaysNW)},
	{"DE-RP", "Rheinland-Pfalz", withReformation2017(de.HolidaysRP)},
	{"DE-SL", "Saarland", withReformation2017(de.HolidaysSL)},
	{"DE-SN", "Sachsen", withReformation2017(de.HolidaysSN)},
	{"DE-SN-KATH", "Sachsen, Gemeinden mit Fronleichnam (katholisch geprägtes sorbisches Siedlungsgebiet)",
		withReformation2017(de.HolidaysSN, de.Fronleichnam)},
	{"DE-ST", "Sachsen-Anhalt", withReformation2017(de.HolidaysST)},
	{"DE-SH", "Schleswig-Holstein", withReformation2017(replace(de.HolidaysSH, de.Reformationstag, reformationstagNord))},
}

// withReformation2017 returns base plus extra, plus the one-off Reformation
// Day 2017 unless the list already holds a Reformation Day rule.
func withReformation2017(base []*cal.Holiday, extra ...*cal.Holiday) []*cal.Holiday {
	out := slices.Concat(base, extra)
	for _, h := range out {
		if h.Month == time.October && h.Day == 31 {
			return out
		}
	}
	return append(out, reformationstag2017)
}

// replace returns a copy of list with old replaced by repl. It panics when
// old is missing: a changed library list must be noticed, not ignored.
func replace(list []*cal.Holiday, old, repl *cal.Holiday) []*cal.Holiday {
	i := slices.Index(list, old)
	if i < 0 {
		panic(fmt.Sprintf("calendar: holiday %q not in library list; review holidays.go against rickar/cal/v2/de", old.Name))
	}
	out := slices.Clone(list)
	out[i] = repl
	return out
}
