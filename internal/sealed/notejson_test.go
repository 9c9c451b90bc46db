package sealed

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/fieldcase/fieldcase/record"
)

// FuzzDecodeNote holds decodeNote to json.Unmarshal: whatever it accepts, it
// decodes to the same note, and it accepts what json.Marshal writes.
func FuzzDecodeNote(f *testing.F) {
	for _, n := range []record.Note{
		{},
		{Kind: "visit", Date: "2026-11-20", Time: "14:05", Place: "Home <school> & \"park\"", Attendees: []string{"A B", "Ç D"},
			Text: "Line one.\nLine two\twith a tab, a \\ backslash, U+2028 \u2028 and é ü 漢字 😀 \x7f.", Author: "Sam"},
		{Kind: "call", Attendees: []string{}, Text: "\x01\x1f control"},
		{Text: "bad utf-8: \xff\xfe"},
	} {
		js, err := json.Marshal(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(js)
	}
	for _, s := range []string{
		` { "kind" : "visit" , "text":"a" } `, `{"Kind":"visit"}`, `{"kind":null}`, `{"kind":"a","kind":"b"}`,
		`{"text":"\ud83d\ude00"}`, `{"text":"\u00e9\u00E9"}`, `{"te\u0078t":"x"}`, `{"attendees":null}`, `{"attendees":["a",1]}`,
		`{"text":"x"} x`, `{"text":"x",}`, `{"text":"\q"}`, `{"date":"2026-01-01","other":1}`, `[]`, ``, `{"text":"a` + "\n" + `"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, js []byte) {
		var fast record.Note
		ok := decodeNote(js, &fast)
		var want record.Note
		err := json.Unmarshal(js, &want)
		if !ok {
			return // json.Unmarshal decides
		}
		if err != nil {
			t.Fatalf("decodeNote took %q, which json.Unmarshal refuses: %v", js, err)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("decodeNote(%q) = %#v, json.Unmarshal gives %#v", js, fast, want)
		}
	})
}

// TestDecodeNoteTakesMarshalled checks that the fast path takes what
// json.Marshal writes (else it would be no faster), and leaves what it
// must to json.Unmarshal.
func TestDecodeNoteTakesMarshalled(t *testing.T) {
	n := record.Note{Kind: "visit", Date: "2026-11-20", Place: "<b> & c", Attendees: []string{"x"}, Text: "é\n\"q\"\u2028"}
	js, _ := json.Marshal(n)
	var got record.Note
	if !decodeNote(js, &got) || !reflect.DeepEqual(got, n) {
		t.Fatalf("decodeNote(%s) = %v, %#v; want true, %#v", js, decodeNote(js, &record.Note{}), got, n)
	}
	for _, s := range []string{`{"Kind":"visit"}`, `{"kind":null}`, `{"text":"\ud83d\ude00"}`, `{"text":"\xff"}`, `{"x":1}`} {
		if decodeNote([]byte(s), &record.Note{}) {
			t.Errorf("decodeNote took %s: json.Unmarshal must decide it", s)
		}
	}
	v, err := Value(record.KindNote, []byte(`{"Kind":"call","text":"\ud83d\ude00"}`))
	if err != nil || v.(*record.Note).Kind != "call" || v.(*record.Note).Text != "😀" {
		t.Fatalf("Value through json.Unmarshal = %#v, %v", v, err)
	}
}
