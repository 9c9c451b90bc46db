package sealed

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/fieldcase/fieldcase/crypto"
	"github.com/fieldcase/fieldcase/record"
)

func TestSealOpen(t *testing.T) {
	k := crypto.NewCaseKey("c", 1)
	for _, text := range []string{"short", strings.Repeat("long enough to be compressed ", 20)} {
		b, err := Seal(k, "c", "r", record.KindNote, &record.Note{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		js, err := Open(k, "c", "r", record.KindNote, b)
		if err != nil {
			t.Fatal(err)
		}
		v, err := Value(record.KindNote, js)
		if err != nil || v.(*record.Note).Text != text {
			t.Fatalf("round trip: %v %v", v, err)
		}
		// Relabelled as another kind, the body refuses to decode.
		if _, err := Open(k, "c", "r", record.KindTask, b); !errors.Is(err, ErrBody) {
			t.Errorf("relabelled kind: %v", err)
		}
	}
	kr := Keyring{Epoch: 4, Wrapped: []byte("age file")}
	got, err := DecodeKeyring(kr.Marshal())
	if err != nil || got.Epoch != 4 || !bytes.Equal(got.Wrapped, kr.Wrapped) {
		t.Errorf("keyring round trip: %+v %v", got, err)
	}
}

func FuzzDecodeKeyring(f *testing.F) {
	f.Add(Keyring{Epoch: 3, Wrapped: []byte("age-encryption.org/v1\n")}.Marshal())
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := DecodeKeyring(b)
		if err != nil {
			return
		}
		if !bytes.Equal(k.Marshal(), b) {
			t.Fatalf("keyring body does not round trip")
		}
	})
}

// FuzzDecodePlain covers the decrypted body envelope and the typed decoding
// after it.
func FuzzDecodePlain(f *testing.F) {
	f.Add([]byte{bodyRaw, kindCodes[record.KindNote], '{', '}'})
	f.Add(append([]byte{bodyZstd, kindCodes[record.KindCase]}, 0x28, 0xb5, 0x2f, 0xfd))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, k := range []record.Kind{record.KindCase, record.KindNote, record.KindConsent, record.KindTask, record.KindRecording, record.KindAudit} {
			js, err := DecodePlain(b, k)
			if err != nil {
				continue
			}
			_, _ = Value(k, js)
		}
	})
}
