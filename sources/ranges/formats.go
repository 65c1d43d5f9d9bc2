package ranges

import (
	"net/netip"
	"strings"

	"netriage/triage/egress"
)

// aws reads ip-ranges.json.
func (w *walker) aws() error {
	seen := false
	err := w.object(func(key string, _ int64) error {
		switch key {
		case "prefixes":
			seen = true
			return w.array(func() error { return w.awsPrefix("ip_prefix", 4) })
		case "ipv6_prefixes":
			seen = true
			return w.array(func() error { return w.awsPrefix("ipv6_prefix", 6) })
		}
		return w.skip()
	})
	if err == nil && !seen {
		err = w.errAt(0, "no prefixes or ipv6_prefixes: is this AWS's ip-ranges.json?")
	}
	return err
}

// awsElem is one entry of prefixes or ipv6_prefixes.
type awsElem struct {
	IPPrefix    string `json:"ip_prefix"`
	IPv6Prefix  string `json:"ipv6_prefix"`
	Region      string `json:"region"`
	Service     string `json:"service"`
	BorderGroup string `json:"network_border_group"`
}

// awsPrefix decodes one entry whole: an entry is a few short fields, and
// the decoder skips unknown ones without keeping them.
func (w *walker) awsPrefix(prefixKey string, family int) error {
	var e awsElem
	start, err := w.decode(&e)
	if err != nil {
		return err
	}
	s := e.IPPrefix
	if family == 6 {
		s = e.IPv6Prefix
	}
	if s == "" {
		return w.errAt(start, "%s: no %s", w.where(""), prefixKey)
	}
	p, err := w.parsePrefix(s, start, prefixKey, family)
	if err != nil {
		return err
	}
	if err := w.long(start, e.Region, e.Service, e.BorderGroup); err != nil {
		return err
	}
	w.out = append(w.out, egress.CloudRange{Prefix: p, Provider: AWS, Service: w.intern(e.Service), Region: w.intern(e.Region),
		BorderGroup: w.intern(e.BorderGroup)})
	return nil
}

// google reads cloud.json (or goog.json).
func (w *walker) google() error {
	seen := false
	err := w.object(func(key string, _ int64) error {
		if key != "prefixes" {
			return w.skip()
		}
		seen = true
		return w.array(w.googlePrefix)
	})
	if err == nil && !seen {
		err = w.errAt(0, "no prefixes: is this Google's cloud.json?")
	}
	return err
}

// googleElem is one entry of prefixes.
type googleElem struct {
	IPv4Prefix string `json:"ipv4Prefix"`
	IPv6Prefix string `json:"ipv6Prefix"`
	Service    string `json:"service"`
	Scope      string `json:"scope"`
}

func (w *walker) googlePrefix() error {
	var e googleElem
	start, err := w.decode(&e)
	if err != nil {
		return err
	}
	var p netip.Prefix
	switch {
	case e.IPv4Prefix != "" && e.IPv6Prefix != "":
		return w.errAt(start, "%s: both ipv4Prefix and ipv6Prefix", w.where(""))
	case e.IPv4Prefix != "":
		p, err = w.parsePrefix(e.IPv4Prefix, start, "ipv4Prefix", 4)
	case e.IPv6Prefix != "":
		p, err = w.parsePrefix(e.IPv6Prefix, start, "ipv6Prefix", 6)
	default:
		return w.errAt(start, "%s: no ipv4Prefix or ipv6Prefix", w.where(""))
	}
	if err != nil {
		return err
	}
	if err := w.long(start, e.Service, e.Scope); err != nil {
		return err
	}
	w.out = append(w.out, egress.CloudRange{Prefix: p, Provider: Google, Service: w.intern(e.Service), Region: w.intern(e.Scope)})
	return nil
}

// azure reads a service tags file.
func (w *walker) azure() error {
	seen := false
	err := w.object(func(key string, _ int64) error {
		if key != "values" {
			return w.skip()
		}
		seen = true
		return w.array(w.azureTag)
	})
	if err == nil && !seen {
		err = w.errAt(0, "no values: is this an Azure service tags file?")
	}
	return err
}

// azureTag reads one service tag: its prefixes take the tag's
// systemService as their service, or, where that is empty (AzureCloud.*),
// the tag's name up to its first '.'.
func (w *walker) azureTag() error {
	var name, region, system string
	first := len(w.out)
	var err error
	oerr := w.object(func(key string, _ int64) error {
		switch key {
		case "name":
			name, _, err = w.str()
			return err
		case "properties":
		default:
			return w.skip()
		}
		return w.object(func(key string, _ int64) error {
			switch key {
			case "region":
				region, _, err = w.str()
			case "systemService":
				system, _, err = w.str()
			case "addressPrefixes":
				err = w.array(func() error {
					p, err := w.prefix(0)
					if err == nil {
						w.out = append(w.out, egress.CloudRange{Prefix: p, Provider: Azure})
					}
					return err
				})
			default:
				err = w.skip()
			}
			return err
		})
	})
	if oerr != nil {
		return oerr
	}
	service := system
	if service == "" {
		service, _, _ = strings.Cut(name, ".")
	}
	for i := first; i < len(w.out); i++ {
		w.out[i].Service, w.out[i].Region = service, region
	}
	return nil
}
