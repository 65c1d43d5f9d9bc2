package ranges

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"netriage/triage/egress"
)

func cr(p, provider, service, region, nbg string) egress.CloudRange {
	return egress.CloudRange{Prefix: netip.MustParsePrefix(p), Provider: provider, Service: service, Region: region, BorderGroup: nbg}
}

func TestLoadFixtures(t *testing.T) {
	tests := []struct {
		file, provider string
		want           []egress.CloudRange
	}{
		{"aws-ip-ranges.json", AWS, []egress.CloudRange{
			cr("52.192.0.0/10", "aws", "AMAZON", "us-east-1", "us-east-1"),
			cr("52.216.0.0/15", "aws", "AMAZON", "us-east-1", "us-east-1"),
			cr("52.216.0.0/15", "aws", "S3", "us-east-1", "us-east-1"),
			cr("3.248.0.0/13", "aws", "EC2", "eu-west-1", "eu-west-1"),
			cr("13.32.0.0/15", "aws", "CLOUDFRONT", "GLOBAL", "GLOBAL"),
			cr("15.181.232.0/21", "aws", "EC2", "us-east-1", "us-east-1-bos-1"),
			cr("2600:1f18::/33", "aws", "EC2", "us-east-1", "us-east-1"),
			cr("2a05:d018::/36", "aws", "AMAZON", "eu-west-1", "eu-west-1"),
		}},
		{"gcp-cloud.json", Google, []egress.CloudRange{
			cr("34.1.208.0/20", "gcp", "Google Cloud", "africa-south1", ""),
			cr("34.35.0.0/16", "gcp", "Google Cloud", "us-east1", ""),
			cr("2600:1900:8000::/44", "gcp", "Google Cloud", "us-east1", ""),
			cr("35.190.0.0/17", "gcp", "Google Cloud", "global", ""),
		}},
		{"azure-servicetags.json", Azure, []egress.CloudRange{
			cr("20.42.0.0/17", "azure", "AzureCloud", "eastus", ""),
			cr("2603:1030:210::/47", "azure", "AzureCloud", "eastus", ""),
			cr("20.42.0.0/20", "azure", "AzureStorage", "eastus", ""),
			cr("2603:1030:210::/48", "azure", "AzureStorage", "eastus", ""),
			cr("4.145.74.52/30", "azure", "ActionGroup", "", ""),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got, err := Load(filepath.Join("testdata", tc.file), tc.provider, os.Open, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// TestFixturesClass loads the three fixtures into one table for a host in
// aws us-east-1 and checks a few addresses end to end.
func TestFixturesClass(t *testing.T) {
	var all []egress.CloudRange
	for _, f := range []struct{ file, provider string }{{"aws-ip-ranges.json", AWS}, {"gcp-cloud.json", Google}, {"azure-servicetags.json", Azure}} {
		rs, err := Load(filepath.Join("testdata", f.file), f.provider, os.Open, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, rs...)
	}
	tab, err := egress.NewTable(egress.Rules{Place: egress.Place{Provider: "aws", Region: "us-east-1"}, Cloud: all})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]string{
		"52.216.9.9":       "same-region aws/S3/us-east-1",
		"52.200.0.1":       "same-region aws/AMAZON/us-east-1",
		"3.250.1.1":        "cross-region aws/EC2/eu-west-1",
		"13.33.0.1":        "same-provider aws/CLOUDFRONT/global",
		"34.35.1.1":        "internet gcp/Google Cloud/us-east1",
		"20.42.1.1":        "internet azure/AzureStorage/eastus",
		"20.42.100.1":      "internet azure/AzureCloud/eastus",
		"2603:1030:211::1": "internet azure/AzureCloud/eastus",
	} {
		d := tab.Classify(netip.MustParseAddr(addr))
		if got := string(d.Class) + " " + d.Network; got != want {
			t.Errorf("%s: %s, want %s", addr, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	lim := Limits{MaxFileBytes: 1 << 20, MaxPrefixes: 3}
	tests := []struct {
		name, provider, in string
		want               []string
	}{
		{"not JSON", AWS, "root:$y$SECRET:19000::\n", []string{"line 1, column 1 (byte 0)", "not valid JSON"}},
		{"syntax error", AWS, "{\n  \"prefixes\": [\n    {\"ip_prefix\": \"1.2.3.0/24\",, }\n  ]\n}", []string{"line 3", "not valid JSON"}},
		{"truncated", AWS, `{"prefixes": [{"ip_prefix": "1.2.3.0/24"`, []string{"truncated"}},
		{"bad prefix", AWS, "{\"prefixes\": [\n{\"ip_prefix\": \"1.2.3.0/24\"},\n{\"ip_prefix\": \"SECRET\"}]}", []string{"line 3, column 1", "prefixes[1].ip_prefix: not a CIDR prefix"}},
		{"v6 in ip_prefix", AWS, `{"prefixes": [{"ip_prefix": "2600::/32"}]}`, []string{"prefixes[0].ip_prefix: not an IPv4 prefix"}},
		{"v4 in ipv6_prefix", AWS, `{"ipv6_prefixes": [{"ipv6_prefix": "1.0.0.0/8"}]}`, []string{"ipv6_prefixes[0].ipv6_prefix: not an IPv6 prefix"}},
		{"no prefix", AWS, `{"prefixes": [{"region": "x"}]}`, []string{"prefixes[0]: no ip_prefix"}},
		{"wrong type", AWS, `{"prefixes": {"ip_prefix": "1.0.0.0/8"}}`, []string{"prefixes: want an array, found an object"}},
		{"number prefix", AWS, `{"prefixes": [{"ip_prefix": 12}]}`, []string{"prefixes[0].ip_prefix: want a string, found a number"}},
		{"not the format", AWS, `{"values": []}`, []string{"no prefixes or ipv6_prefixes"}},
		{"top-level array", AWS, `[1, 2]`, []string{"the file: want an object, found an array"}},
		{"trailing data", AWS, `{"prefixes": []} {}`, []string{"data after the top-level object"}},
		{"too many", AWS, `{"prefixes": [{"ip_prefix": "1.0.0.0/8"}, {"ip_prefix": "2.0.0.0/8"}, {"ip_prefix": "3.0.0.0/8"}, {"ip_prefix": "4.0.0.0/8"}]}`, []string{"more than 3 prefixes"}},
		{"deep nesting", AWS, `{"x": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `, "prefixes": []}`, []string{"nested deeper than 32 levels"}},
		{"long string", AWS, `{"prefixes": [{"ip_prefix": "1.0.0.0/8", "region": "` + strings.Repeat("x", 300) + `"}]}`, []string{"prefixes[0]: a value longer than 256 bytes"}},
		{"google both", Google, `{"prefixes": [{"ipv4Prefix": "1.0.0.0/8", "ipv6Prefix": "2600::/32"}]}`, []string{"both ipv4Prefix and ipv6Prefix"}},
		{"google none", Google, `{"prefixes": [{"service": "x"}]}`, []string{"prefixes[0]: no ipv4Prefix or ipv6Prefix"}},
		{"google not the format", Google, `{"values": []}`, []string{"no prefixes: is this Google's cloud.json?"}},
		{"azure bad prefix", Azure, `{"values": [{"name": "A", "properties": {"addressPrefixes": ["1.0.0.0/8", "x"]}}]}`, []string{"values[0].properties.addressPrefixes[1]: not a CIDR prefix"}},
		{"azure properties", Azure, `{"values": [{"properties": []}]}`, []string{"values[0].properties: want an object, found an array"}},
		{"azure not the format", Azure, `{"prefixes": []}`, []string{"no values: is this an Azure service tags file?"}},
		{"unknown provider", "oracle", `{}`, []string{"provider is not one of aws, gcp, azure"}},
		{"too large", AWS, `{"prefixes": [], "x": "` + strings.Repeat("x", 1<<20) + `"}`, []string{"larger than 1048576 bytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.json", tc.provider, []byte(tc.in), lim)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(tc.want, "ranges file f.json") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error %q quotes the file", err)
			}
			if tc.provider != "oracle" && !errors.Is(err, ErrFormat) {
				t.Errorf("error %v does not wrap ErrFormat", err)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "missing.json"), AWS, os.Open, DefaultLimits())
	if err == nil || !strings.Contains(err.Error(), "missing.json") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	// A file larger than the cap is refused without reading it all.
	big := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(big, []byte(`{"prefixes": [], "x": "`+strings.Repeat("x", 4096)+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(big, AWS, os.Open, Limits{MaxFileBytes: 1024, MaxPrefixes: 10})
	if err == nil || !strings.Contains(err.Error(), "larger than 1024 bytes") {
		t.Errorf("large file: %v", err)
	}
}

// TestLoadUser opens with the user's own rights.
func TestLoadUser(t *testing.T) {
	rs, err := LoadUser(filepath.Join("testdata", "gcp-cloud.json"), Google, DefaultLimits())
	if err != nil || len(rs) != 4 {
		t.Fatalf("LoadUser: %d ranges, %v", len(rs), err)
	}
	if _, err := LoadUser("testdata", Google, DefaultLimits()); err == nil {
		t.Error("LoadUser opened a directory")
	}
}

func fuzzParse(f *testing.F, provider string, seeds ...string) {
	for _, s := range seeds {
		data, err := os.ReadFile(filepath.Join("testdata", s))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"prefixes": [[[[[[]]]]]]}`))
	f.Add([]byte(`{"values": [{"properties": {"addressPrefixes": [null, "1.0.0.0/8"]}}]}`))
	lim := Limits{MaxFileBytes: 1 << 16, MaxPrefixes: 64}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := Parse("f.json", provider, data, lim)
		if err != nil {
			var pe *Error
			if errors.As(err, &pe) && (pe.Offset < 0 || pe.Offset > int64(len(data)) || pe.Line < 1) {
				t.Fatalf("error place out of the file: %+v", pe)
			}
			return
		}
		if len(rs) > lim.MaxPrefixes {
			t.Fatalf("%d prefixes over the cap", len(rs))
		}
		for _, r := range rs {
			if !r.Prefix.IsValid() || r.Provider != provider {
				t.Fatalf("range %+v", r)
			}
		}
	})
}

func FuzzAWSRanges(f *testing.F)    { fuzzParse(f, AWS, "aws-ip-ranges.json") }
func FuzzGoogleRanges(f *testing.F) { fuzzParse(f, Google, "gcp-cloud.json") }
func FuzzAzureRanges(f *testing.F)  { fuzzParse(f, Azure, "azure-servicetags.json") }

func TestElementErrors(t *testing.T) {
	lim := DefaultLimits()
	tests := []struct{ provider, in, want string }{
		{AWS, "{\"prefixes\": [\n  {\"ip_prefix\": \"1.0.0.0/8\"},\n  {\"ip_prefix\": \"2.0.0.0/8\", \"region\": 7}\n]}", "line 3, column 3 (byte 47): prefixes[1].region: want a string, found a number"},
		{AWS, `{"prefixes": [12]}`, "prefixes[0]: want an object, found a number"},
		{AWS, `{"prefixes": [null]}`, "prefixes[0]: no ip_prefix"},
		{AWS, `{"prefixes": [{"ip_prefix": "1.0.0.0/8", "x": ` + strings.Repeat("[", 20000) + `]}]}`, "not valid JSON"},
		{Google, `{"prefixes": [{"ipv4Prefix": ["x"]}]}`, "prefixes[0].ipv4Prefix: want a string, found an array"},
		{Google, `{"prefixes": [{"ipv6Prefix": "10.0.0.0/8"}]}`, "prefixes[0].ipv6Prefix: not an IPv6 prefix"},
	}
	for _, tc := range tests {
		_, err := Parse("f.json", tc.provider, []byte(tc.in), lim)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%.40q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}
