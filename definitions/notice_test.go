package definitions

import (
	"strings"
	"testing"
)

func TestValidateNotices(t *testing.T) {
	events := "events: [{id: e, type: de.amtsweg.applicant.e.v1}, {id: pzu, type: de.amtsweg.applicant.pzu.v1, occurredAt: zugestelltAm}, {id: nodate, type: de.amtsweg.applicant.nodate.v1}]\n"
	base := strings.Replace(header, "events: [{id: e, type: de.amtsweg.applicant.e.v1}]\n", events, 1)
	tests := []struct {
		name  string
		steps string
		want  []string
	}{
		{
			name: "a valid notice and a wait running from it",
			steps: `start: send
steps:
  - {id: send, type: task, role: r, next: frist, notice: {id: bescheid, act: decision, channel: zustellung, proof: pzu}}
  - {id: frist, type: wait, event: e, deadline: P1M, deadlineFrom: bescheid, remedyPeriod: true, lateDelivery: 72h, onLate: late, onExpiry: done, next: done}
  - {id: late, type: end, outcome: late}
  - {id: done, type: end, outcome: ok}
`,
		},
		{
			name: "unknown channel, act and proof; Zustellung without proof date",
			steps: `start: a
steps:
  - {id: a, type: task, role: r, next: b, notice: {id: n1, act: verdict, channel: fax}}
  - {id: b, type: task, role: r, next: c, notice: {id: n2, act: decision, channel: zustellung}}
  - {id: c, type: task, role: r, next: d, notice: {id: n3, act: decision, channel: zustellung, proof: nodate}}
  - {id: d, type: task, role: r, next: done, notice: {id: n4, act: decision, channel: portal, proof: missing}}
  - {id: done, type: end, outcome: ok}
`,
			want: []string{
				`steps[0].notice.act: "verdict" is not allowed here (use one of decision, request`,
				`steps[0].notice.channel: "fax" is not allowed here (use one of post, portal, zustellung, hand, public)`,
			},
		},
		{
			name: "integrity of notices after the schema",
			steps: `start: b
steps:
  - {id: b, type: task, role: r, next: c, notice: {id: n2, act: decision, channel: zustellung}}
  - {id: c, type: task, role: r, next: d, notice: {id: n3, act: decision, channel: zustellung, proof: nodate}}
  - {id: d, type: task, role: r, next: done, notice: {id: n4, act: decision, channel: portal, proof: missing}}
  - {id: done, type: end, outcome: ok}
`,
			want: []string{
				`steps[0].notice.proof: a zustellung delivery needs the event that records the proof or retrieval`,
				`steps[1].notice.proof: event "nodate" carries the proof of service but names no date field`,
				`steps[2].notice.proof: event "missing" does not exist`,
			},
		},
		{
			name: "deadlineFrom names an unknown notice; portal needs onNotEffected",
			steps: `start: send
steps:
  - {id: send, type: task, role: r, next: w1, notice: {id: bescheid, act: decision, channel: portal, proof: pzu}}
  - {id: w1, type: wait, event: e, deadline: P1M, deadlineFrom: bescheid, onExpiry: w2, next: w2}
  - {id: w2, type: wait, event: e, deadline: P1M, deadlineFrom: bescheit, onExpiry: done, next: done}
  - {id: done, type: end, outcome: ok}
`,
			want: []string{
				`steps[1].deadlineFrom: notice "bescheid" is provided in the portal`,
				`steps[2].deadlineFrom: notice "bescheit" does not exist (did you mean "bescheid"?)`,
			},
		},
		{
			name: "fields that need deadlineFrom or a deadline",
			steps: `start: w1
steps:
  - {id: w1, type: wait, event: e, onNotEffected: done, remedyPeriod: true, onLate: done, next: done}
  - {id: done, type: end, outcome: ok}
`,
			want: []string{
				`steps[0]: onLate and lateDelivery need a deadline`,
				`steps[0].onNotEffected: onNotEffected needs deadlineFrom`,
				`steps[0].remedyPeriod: remedyPeriod needs deadlineFrom`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := loadErrs(t, base+tt.steps, ValidateOptions{})
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.Contains(got[i], tt.want[i]) {
					t.Errorf("error %d:\n got: %s\nwant: …%s…", i, got[i], tt.want[i])
				}
			}
		})
	}
}
