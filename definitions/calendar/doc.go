// Package calendar computes legal deadlines (Fristen) of administrative
// procedures on the public-holiday calendar of a German Land.
//
// Periods follow § 31 VwVfG (and the Länder's VwVfG, e.g. ThürVwVfG) with
// §§ 187–193 BGB:
//
//   - the day of the triggering event is not counted (§ 187 (1) BGB);
//   - a period in days ends at the end of its last day (§ 188 (1) BGB);
//   - a period in weeks, months or years ends with the day of the last week,
//     month or year that has the same name or number as the event day
//     (§ 188 (2) BGB); if that month has no such day, with its last day
//     (§ 188 (3) BGB);
//   - a period combining months (or years) and days counts the months first
//     and the days last (§ 189 (2) BGB applied by analogy);
//   - days on which the period was paused (Fristhemmung, § 209 BGB applied by
//     analogy: "Der Zeitraum, während dessen die Verjährung gehemmt ist,
//     wird in die Verjährungsfrist nicht eingerechnet") are not counted: the
//     end moves later by that many days. The interpreter counts the day the
//     pause began and the day it ended as paused days, both included (the
//     cause begins and ends during those days); this practice is reported
//     for § 209 BGB but its source could not be verified here. Pauses that
//     ended before the rule was changed keep the count recorded in their
//     history, one boundary day (workflows, version
//     "fristhemmung-inclusive");
//   - § 187 (2) BGB (Options.StartOfDay): a period that begins at the start
//     of a day counts that day and ends the day before the day of the same
//     name or number (§ 188 (2) second alternative BGB);
//   - Options.NoShift keeps an end on a weekend or holiday where § 31 (3)
//     sentence 2, (4), (5) VwVfG exclude the shift;
//   - if the end then falls on a Saturday, Sunday or public holiday at the
//     authority's seat, the period ends at the end of the next working day
//     (§ 31 (3) VwVfG; § 193 BGB).
//
// Periods are written in ISO 8601 duration syntax restricted to whole days:
// "P10D", "P2W", "P1M", "P3M", "P1Y", and combinations of years, months and
// days such as "P1M2D" or "P1Y6M". Weeks cannot be combined with other units,
// and time parts ("PT1H") and fractions ("P0.5M") are rejected: deadlines
// count whole days, and half a month is written as "P15D" (§ 189 (1) BGB).
//
// Public holidays come from github.com/rickar/cal/v2/de. Calendars are
// identified by ISO 3166-2 codes: "DE-TH" (Thuringia), "DE-BW", "DE-BY", ...,
// and "DE" for the holidays common to all Länder. Where a holiday applies
// only in part of a Land there is a local variant: "DE-BY-KATH",
// "DE-BY-AUGSBURG", "DE-SN-KATH", "DE-TH-KATH" (see IDs). Corrections to the
// library (holidays introduced or held once in a given year) are defined in
// holidays.go with the library's own holiday types. Sunday holidays (Easter
// and Whit Sunday in some Länder) are not listed: a Sunday is never a working
// day anyway.
//
// The holiday data is correct from 1995 (the year Buß- und Bettag stopped
// being a holiday outside Saxony); Compute rejects earlier dates.
//
// A deadline ends at 24:00 local time in Germany on its last day; EndOfDay
// gives that instant (Europe/Berlin), which is when a workflow's timer fires.
package calendar
