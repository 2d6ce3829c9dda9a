package phone

import (
	"errors"
	"math/rand"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name, region, in string
		want             string
		err              error
	}{
		{"e164 digits", "TZ", "255712345678", "255712345678", nil},
		{"plus and spaces", "TZ", "+255 712 345 678", "255712345678", nil},
		{"national with prefix", "TZ", "0712345679", "255712345679", nil},
		{"national with separators", "TZ", "(0713) 222-333", "255713222333", nil},
		{"national without prefix", "TZ", "754123456", "255754123456", nil},
		{"other country with plus", "TZ", "+254 712 345 678", "254712345678", nil},
		{"surrounding space", "TZ", "  0712345679 ", "255712345679", nil},
		{"no region, digits", "", "255712345678", "255712345678", nil},
		{"no region, plus", "", "+44 7911 123456", "447911123456", nil},
		{"no region, national", "", "0712345678", "", ErrCountryCode},
		{"international dialling prefix", "GB", "00255712345678", "255712345678", nil},
		{"italian leading zero", "IT", "+39 06 6982 1234", "390669821234", nil},
		{"nanpa", "US", "(201) 555-0123", "12015550123", nil},
		{"empty", "TZ", "  ", "", ErrEmpty},
		{"too short", "TZ", "0712", "", ErrInvalid},
		{"letters", "TZ", "call me", "", ErrInvalid},
		{"unassigned range", "TZ", "0812345678", "", ErrInvalid},
		{"unknown country code", "TZ", "+999 712 345 678", "", ErrCountryCode},
		{"extension", "TZ", "0712 345 678 ext. 12", "", ErrExtension},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := New(tt.region).Normalize(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Normalize(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			if got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestPhoneFastPathTaken checks that the shapes the fast path exists for
// do take it.
func TestPhoneFastPathTaken(t *testing.T) {
	n := New("TZ")
	for _, in := range []string{"255712345678", "+255 712 345 678", "0712345679", "(0713) 222 333", "+254712345678", "754123456"} {
		if _, ok := n.fast(in); !ok {
			t.Errorf("fast(%q) declined", in)
		}
	}
}

// TestPhoneFastPathAgreesWithLibrary feeds the fast path library example
// numbers in every format, mutated, and random strings of phone characters,
// for regions with different numbering rules, and checks that whenever it
// answers, the library alone gives the same answer.
func TestPhoneFastPathAgreesWithLibrary(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	regions := []string{"", "TZ", "KE", "UG", "RW", "GB", "DE", "IT", "BR", "AR", "IN", "RU", "US", "CA", "FR", "NG", "ZA", "MX", "CN", "JP", "AU", "MW", "HU", "SG"}
	const alphabet = "01234567890123456789012345678901234567890123456789 -.()+"
	iterations := 100000
	if testing.Short() {
		iterations = 10000
	}
	answered := 0
	for range iterations {
		region := regions[rnd.Intn(len(regions))]
		n := New(region)
		var in []byte
		if rnd.Intn(2) == 0 {
			ex := phonenumbers.GetExampleNumberForType(regions[1+rnd.Intn(len(regions)-1)], phonenumbers.PhoneNumberType(rnd.Intn(11)))
			if ex == nil {
				continue
			}
			formats := []phonenumbers.PhoneNumberFormat{phonenumbers.E164, phonenumbers.INTERNATIONAL, phonenumbers.NATIONAL}
			in = []byte(phonenumbers.Format(ex, formats[rnd.Intn(len(formats))]))
			if k := rnd.Intn(len(in)); in[k] >= '0' && in[k] <= '9' && rnd.Intn(2) == 0 {
				in[k] = byte('0' + rnd.Intn(10))
			}
		} else {
			for range 5 + rnd.Intn(14) {
				in = append(in, alphabet[rnd.Intn(len(alphabet))])
			}
			for _, prefix := range []string{"+", "255", "0"} {
				if rnd.Intn(3) == 0 {
					in = append([]byte(prefix), in...)
				}
			}
		}
		fast, ok := n.fast(string(in))
		if !ok {
			continue
		}
		answered++
		slow, err := n.slow(string(in))
		if err != nil || slow != fast {
			t.Errorf("region %q, %q: fast path %q, library %q (%v)", region, in, fast, slow, err)
		}
	}
	if answered < iterations/20 {
		t.Errorf("the fast path answered only %d of %d inputs", answered, iterations)
	}
}

// TestLooks: what a CSV field holding a phone number looks like, valid or
// not; a name, an address or a short number does not.
func TestLooks(t *testing.T) {
	for s, want := range map[string]bool{
		"0712000111": true, " +255 712 000 111 ": true, "(0712) 000-111": true, "255.712.000.111": true,
		"Juma": false, " Mikocheni": false, "12345": false, "+255 712 x": false, "": false,
	} {
		if got := Looks(s); got != want {
			t.Errorf("Looks(%q) = %v, want %v", s, got, want)
		}
	}
}
