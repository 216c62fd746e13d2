// Package bekanntgabe computes the day on which an administrative act is
// deemed made known (bekanntgegeben) to its addressee: the day from which
// the periods it opens run (§ 31 VwVfG with § 187 (1) BGB). It is pure: the
// workflow records its results in the history through a local activity.
//
// A delivery has a channel and the facts known about it; Deem applies the
// rule of the channel in force on the day of dispatch:
//
//   - post (einfacher Brief): § 41 (2) VwVfG — the fourth day after posting
//     when posted on or after 2025-01-01 (amended by the
//     Postrechtsmodernisierungsgesetz 2024), the third day when posted
//     before;
//   - portal (electronic act provided for retrieval): § 41 (2a) VwVfG — the
//     day after retrieval; not retrieved within ten days after the notice of
//     provision was sent: the provision ends and Bekanntgabe is not effected
//     (another channel may follow);
//   - zustellung (Zustellungsurkunde, Empfangsbekenntnis, electronic
//     Abholbestätigung; VwZG and the Land's Verwaltungszustellungsgesetz,
//     e.g. ThürVwZVG): the date on the proof;
//   - hand (handed over at the authority, with Empfangsbekenntnis, § 5 (1)
//     VwZG): the day of handing over, or the date on the proof;
//   - public (öffentliche Bekanntmachung, § 41 (3), (4) VwVfG): two weeks
//     after the day of the local announcement (§ 41 (4) sentence 3 VwVfG;
//     the text was recalled, not verifiable here).
//
// Whether a deemed day that falls on a Saturday, Sunday or public holiday
// moves to the next working day is disputed: the BFH applies the shift to
// the postal fiction of the tax code (BFH, judgment of 14 October 2003,
// IX R 68/98 — cited from memory, not verifiable here), parts of the
// administrative-law commentary hold that § 31 (3) VwVfG governs the end of
// periods only, not the fiction. Rules.ShiftFiction chooses; the default
// shifts, because a later Bekanntgabe can only make a period end later: it
// never turns a timely objection into a late one, while the opposite error
// would take a remedy from a citizen. The shift applies to the fictions
// (post, portal, public), never to a date on a proof.
package bekanntgabe

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/amtsweg/amtsweg/definitions/calendar"
)

// Channel is how an administrative act is delivered.
type Channel string

// The delivery channels.
const (
	Post       Channel = "post"
	Portal     Channel = "portal"
	Zustellung Channel = "zustellung"
	Hand       Channel = "hand"
	Public     Channel = "public"
)

// Channels lists the channels in the order the documentation names them.
func Channels() []Channel { return []Channel{Post, Portal, Zustellung, Hand, Public} }

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool { return slices.Contains(Channels(), c) }

// NeedsProof reports whether Bekanntgabe on c is known only from a later
// record: the date on a proof of service, or the day of retrieval.
func (c Channel) NeedsProof() bool { return c == Portal || c == Zustellung }

// The states of a delivery.
const (
	// Effected: the act is bekanntgegeben; Result.Date is the day.
	Effected = "effected"
	// AwaitingProof: the day is not known yet (no proof, not retrieved).
	AwaitingProof = "awaiting-proof"
	// NotEffected: the portal provision ended unretrieved (§ 41 (2a)
	// sentence 3 VwVfG); another channel may follow.
	NotEffected = "not-effected"
)

// PostRule is one version of the postal fiction: posted on or after From,
// the act is deemed bekanntgegeben on the Days-th day after posting.
type PostRule struct {
	From      calendar.Date `json:"from"`
	Days      int           `json:"days"`
	Provision string        `json:"provision"`
}

// Rules are the Bekanntgabe rules of one Land.
type Rules struct {
	// Land is the ISO 3166-2 code ("DE" for the federal rules).
	Land string `json:"land"`
	// Post are the versions of the postal fiction, by date of posting.
	Post []PostRule `json:"post"`
	// PortalWindowDays is how many days after the notice of provision an
	// act stays available for retrieval (§ 41 (2a) sentence 2 VwVfG).
	PortalWindowDays int `json:"portalWindowDays"`
	// PublicNoticeDays is the number of days after the local announcement
	// on which a publicly announced act is deemed bekanntgegeben.
	PublicNoticeDays int `json:"publicNoticeDays"`
	// ShiftFiction moves a deemed day (post, portal, public) that is not a
	// working day to the next working day (see the package documentation).
	ShiftFiction bool `json:"shiftFiction"`
}

// Federal are the rules of the federal VwVfG.
var Federal = Rules{
	Land: "DE",
	Post: []PostRule{
		{From: calendar.Date{Year: 1977, Month: 1, Day: 1}, Days: 3, Provision: "§ 41 (2) VwVfG, before 2025"},
		{From: calendar.Date{Year: 2025, Month: 1, Day: 1}, Days: 4, Provision: "§ 41 (2) VwVfG as amended by the Postrechtsmodernisierungsgesetz 2024"},
	},
	PortalWindowDays: 10,
	PublicNoticeDays: 14,
	ShiftFiction:     true,
}

// lands holds the rules of Länder that differ from the federal ones.
// Thuringia: the ThürVwVfG as amended in 2024 could not be read here; it is
// configured with the federal rules until someone checks its text.
var lands = map[string]Rules{
	"DE-TH": withLand(Federal, "DE-TH"),
}

func withLand(r Rules, land string) Rules {
	r.Land = land
	r.Post = slices.Clone(r.Post)
	return r
}

// ForLand returns the rules of the Land of a calendar id ("DE-TH",
// "DE-TH-KATH" → Thuringia); a Land without its own entry gets the federal
// rules under its code.
func ForLand(calendarID string) Rules {
	id := strings.ToUpper(strings.TrimSpace(calendarID))
	parts := strings.SplitN(id, "-", 3)
	land := "DE"
	if len(parts) >= 2 {
		land = parts[0] + "-" + parts[1]
	}
	if r, ok := lands[land]; ok {
		return withLand(r, land)
	}
	return withLand(Federal, land)
}

// postRule returns the version of the postal fiction for a posting day.
func (r Rules) postRule(posted calendar.Date) (PostRule, bool) {
	var out PostRule
	found := false
	for _, p := range r.Post {
		if !posted.Before(p.From) && (!found || p.From.After(out.From)) {
			out, found = p, true
		}
	}
	return out, found
}

// Delivery is what is known about the delivery of one act.
type Delivery struct {
	Channel Channel `json:"channel"`
	// Dispatched is the day of posting (post), of sending the notice of
	// provision (portal), of dispatch (zustellung), of handing over (hand)
	// or of the local announcement (public).
	Dispatched calendar.Date `json:"dispatched"`
	// Proof is the date on the proof of service (zustellung, hand) or the
	// day of retrieval (portal); zero while none has arrived.
	Proof calendar.Date `json:"proof,omitzero"`
	// AsOf is the day up to which the facts are known: a portal delivery
	// without retrieval is not effected once AsOf is past the window.
	AsOf calendar.Date `json:"asOf,omitzero"`
}

// Result is the Bekanntgabe of one delivery and the reasoning behind it.
type Result struct {
	State string `json:"state"`
	// Date is the day of Bekanntgabe (state effected).
	Date calendar.Date `json:"date,omitzero"`
	// Estimate, while awaiting proof, is the earliest day the act can be
	// bekanntgegeben: the day of dispatch for a Zustellung, the day after
	// the notice for the portal. Periods shown from it are provisional.
	Estimate calendar.Date `json:"estimate,omitzero"`
	// WindowEnd, for the portal, is the last day the act can be retrieved.
	WindowEnd calendar.Date `json:"windowEnd,omitzero"`
	// Provision cites the rule applied.
	Provision string `json:"provision"`
	// Rules explains each step, in English, citing the provision.
	Rules []string `json:"rules"`
}

// Deem applies the rule of d's channel to the facts of d on calendar c.
func Deem(d Delivery, r Rules, c *calendar.Calendar) (Result, error) {
	if c == nil {
		return Result{}, errors.New("bekanntgabe: no calendar given; use calendar.Lookup, e.g. Lookup(\"DE-TH\")")
	}
	if !d.Channel.Valid() {
		return Result{}, fmt.Errorf("bekanntgabe: unknown channel %q: use one of %s", d.Channel, joinChannels())
	}
	if !d.Dispatched.IsValid() {
		return Result{}, fmt.Errorf("bekanntgabe: the day of dispatch is missing or invalid (%v)", d.Dispatched)
	}
	if !d.Proof.IsZero() && d.Proof.Before(d.Dispatched) {
		return Result{}, fmt.Errorf("bekanntgabe: the date on the proof (%s) is before the day of dispatch (%s): check the proof", d.Proof, d.Dispatched)
	}
	var res Result
	rule := func(format string, args ...any) { res.Rules = append(res.Rules, fmt.Sprintf(format, args...)) }

	switch d.Channel {
	case Post:
		p, ok := r.postRule(d.Dispatched)
		if !ok {
			return Result{}, fmt.Errorf("bekanntgabe: no postal rule of %s covers posting on %s", r.Land, d.Dispatched)
		}
		res.Provision = p.Provision
		day := d.Dispatched.AddDays(p.Days)
		rule("posted on %s: deemed bekanntgegeben on the %s day after posting, %s (%s)", d.Dispatched, ordinal(p.Days), day, p.Provision)
		res.State, res.Date = Effected, shift(day, r, c, rule)
	case Portal:
		res.Provision = "§ 41 (2a) VwVfG"
		res.WindowEnd = d.Dispatched.AddDays(r.PortalWindowDays)
		switch {
		case !d.Proof.IsZero() && !d.Proof.After(res.WindowEnd):
			day := d.Proof.AddDays(1)
			rule("provided for retrieval, notice sent on %s, retrieved on %s: deemed bekanntgegeben on the day after retrieval, %s (§ 41 (2a) sentence 1 VwVfG)", d.Dispatched, d.Proof, day)
			res.State, res.Date = Effected, shift(day, r, c, rule)
		case !d.Proof.IsZero() || (!d.AsOf.IsZero() && d.AsOf.After(res.WindowEnd)):
			rule("notice of provision sent on %s, not retrieved within %d days (by %s): the provision ends and Bekanntgabe is not effected (§ 41 (2a) sentences 2, 3 VwVfG)", d.Dispatched, r.PortalWindowDays, res.WindowEnd)
			res.State = NotEffected
		default:
			rule("notice of provision sent on %s: awaiting retrieval until the end of %s (§ 41 (2a) VwVfG)", d.Dispatched, res.WindowEnd)
			res.State, res.Estimate = AwaitingProof, d.Dispatched.AddDays(1)
		}
	case Zustellung:
		res.Provision = "VwZG; the Land's Verwaltungszustellungsgesetz (ThürVwZVG)"
		if d.Proof.IsZero() {
			rule("dispatched for service on %s: awaiting the proof of service (Zustellungsurkunde, Empfangsbekenntnis)", d.Dispatched)
			res.State, res.Estimate = AwaitingProof, d.Dispatched
			break
		}
		rule("served on %s, the date on the proof of service (§ 3 (2) VwZG with § 182 ZPO; § 5 (4), (5) VwZG)", d.Proof)
		res.State, res.Date = Effected, d.Proof
	case Hand:
		res.Provision = "§ 41 (1) VwVfG; § 5 (1) VwZG"
		day := d.Dispatched
		if !d.Proof.IsZero() {
			day = d.Proof
		}
		rule("handed over on %s (§ 41 (1) VwVfG; Empfangsbekenntnis § 5 (1) VwZG)", day)
		res.State, res.Date = Effected, day
	case Public:
		res.Provision = "§ 41 (4) sentence 3 VwVfG (text not verifiable here)"
		day := d.Dispatched.AddDays(r.PublicNoticeDays)
		rule("announced locally on %s: deemed bekanntgegeben %d days later, %s (§ 41 (4) sentence 3 VwVfG; text not verifiable here)", d.Dispatched, r.PublicNoticeDays, day)
		res.State, res.Date = Effected, shift(day, r, c, rule)
	}
	return res, nil
}

// shift moves a fictitious day off weekends and holidays when the rules say
// so.
func shift(day calendar.Date, r Rules, c *calendar.Calendar, rule func(string, ...any)) calendar.Date {
	ok, name := c.IsWorkingDay(day)
	if ok {
		return day
	}
	why := day.Weekday().String()
	if name != "" {
		why = name
	}
	if !r.ShiftFiction {
		rule("%s is a %s; the deemed day is not moved (rules of %s: the fiction is no period end)", day, why, r.Land)
		return day
	}
	to := day
	for {
		to = to.AddDays(1)
		if ok, _ := c.IsWorkingDay(to); ok {
			break
		}
	}
	rule("%s is a %s: the deemed day moves to the next working day %s (§ 31 (3) VwVfG applied to the fiction, see the package documentation)", day, why, to)
	return to
}

func ordinal(n int) string {
	switch n {
	case 1:
		return "first"
	case 2:
		return "second"
	case 3:
		return "third"
	case 4:
		return "fourth"
	}
	return fmt.Sprintf("%dth", n)
}

func joinChannels() string {
	var s []string
	for _, c := range Channels() {
		s = append(s, string(c))
	}
	return strings.Join(s, ", ")
}
