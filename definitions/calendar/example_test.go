package calendar_test

import (
	"fmt"

	"github.com/amtsweg/amtsweg/definitions/calendar"
)

// A three-month decision period starting with a complete application
// received on 30 November 2026, on Thuringia's calendar.
func ExampleCompute() {
	from, _ := calendar.ParseDate("2026-11-30")
	period, _ := calendar.ParsePeriod("P3M")
	th, _ := calendar.Lookup("DE-TH")

	res, err := calendar.Compute(from, period, th, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.End)
	for _, r := range res.Rules {
		fmt.Println(r)
	}
	fmt.Println("timer fires at", calendar.EndOfDay(res.End).Format("2006-01-02 15:04 MST"))
	// Output:
	// 2027-03-01
	// period starts the day after 2026-11-30 (§ 187 (1) BGB)
	// 3 months: ends on the day of 2027-02 with the same number as the event day (30) (§ 188 (2) BGB)
	// 2027-02 has no day 30: ends on its last day 2027-02-28 (§ 188 (3) BGB)
	// 2027-02-28 is a Sunday: moved to the next working day 2027-03-01 (§ 31 (3) VwVfG; § 193 BGB)
	// timer fires at 2027-03-02 00:00 CET
}

// A period paused while the procedure waited on the applicant.
func ExampleCompute_paused() {
	th, _ := calendar.Lookup("DE-TH")
	res, _ := calendar.Compute(calendar.Date{Year: 2026, Month: 9, Day: 3}, calendar.Period{Weeks: 4}, th, 2)
	fmt.Println(res.End)
	for _, r := range res.Rules[1:] {
		fmt.Println(r)
	}
	// Output:
	// 2026-10-05
	// 4 weeks: ends on the same weekday as the event day (Thursday), 2026-10-01 (§ 188 (2) BGB)
	// period paused for 2 days (Fristhemmung, § 209 BGB analog): end extended from 2026-10-01 to 2026-10-03
	// 2026-10-03 is a public holiday (Tag der Deutschen Einheit): moved to the next working day 2026-10-05, skipping 2026-10-04 (Sunday) (§ 31 (3) VwVfG; § 193 BGB)
}

func ExampleCalendar_IsWorkingDay() {
	th, _ := calendar.Lookup("DE-TH")
	by, _ := calendar.Lookup("DE-BY")
	d := calendar.Date{Year: 2027, Month: 9, Day: 20}
	fmt.Println(th.IsWorkingDay(d))
	fmt.Println(by.IsWorkingDay(d))
	// Output:
	// false Weltkindertag
	// true
}
