package egress

import "fmt"

// Unit is the number of bytes a price is given for. Providers differ, and
// the difference is 7.4%, so it is never assumed: the config states it.
type Unit uint8

// Units of a price.
const (
	// UnitNone: no unit was stated; no price is known.
	UnitNone Unit = iota
	// UnitGB is the decimal gigabyte, 10^9 bytes.
	UnitGB
	// UnitGiB is the binary gigabyte (gibibyte), 2^30 bytes.
	UnitGiB
)

// Bytes returns the number of bytes in one unit (0 for UnitNone).
func (u Unit) Bytes() float64 {
	switch u {
	case UnitGB:
		return 1e9
	case UnitGiB:
		return 1 << 30
	}
	return 0
}

// String returns "GB", "GiB" or "none".
func (u Unit) String() string {
	switch u {
	case UnitGB:
		return "GB"
	case UnitGiB:
		return "GiB"
	case UnitNone:
		return "none"
	}
	return fmt.Sprintf("unit(%d)", uint8(u))
}

// ParseUnit parses "GB" (10^9 bytes) or "GiB" (2^30 bytes), exactly so
// spelt.
func ParseUnit(s string) (Unit, bool) {
	switch s {
	case "GB":
		return UnitGB, true
	case "GiB":
		return UnitGiB, true
	}
	return UnitNone, false
}

// Price is what one unit of bytes costs in one direction. Known is false
// when no price was given: such bytes are counted, never priced as zero.
type Price struct {
	PerUnit float64
	Known   bool
}

// Known returns a price of v per unit.
func Known(v float64) Price { return Price{PerUnit: v, Known: true} }

// ClassPrice is a class's price in each direction: Sent is host to remote
// (egress), Received remote to host.
type ClassPrice struct {
	Sent, Received Price
}

// Prices are the configured prices: the unit they are per, the currency
// (a label only: nothing is converted) and a price per class and direction.
type Prices struct {
	Unit     Unit
	Currency string
	Classes  map[Class]ClassPrice
}

// For returns c's prices; without a unit no price is known.
func (p Prices) For(c Class) ClassPrice {
	if p.Unit == UnitNone {
		return ClassPrice{}
	}
	return p.Classes[c]
}

// Cost is an amount of money and the bytes that could not be priced. Amount
// covers the priced bytes only: a cost with unpriced bytes is a lower bound,
// and a writer shows it as such (or bytes only), never as the whole cost.
type Cost struct {
	// Amount is in the prices' currency.
	Amount float64
	// UnpricedBytes are bytes of a class and direction with no price.
	UnpricedBytes uint64
}

// Known reports whether every byte was priced.
func (c Cost) Known() bool { return c.UnpricedBytes == 0 }

// Add returns c + o.
func (c Cost) Add(o Cost) Cost {
	return Cost{Amount: c.Amount + o.Amount, UnpricedBytes: c.UnpricedBytes + o.UnpricedBytes}
}

// HourlyCost is a cost per hour at a rate: the amount per hour of the priced
// bytes and the bytes per hour that have no price.
type HourlyCost struct {
	Amount             float64
	UnpricedBytesPerHr float64
}

// Known reports whether every byte of the rate was priced.
func (h HourlyCost) Known() bool { return h.UnpricedBytesPerHr == 0 }

// Add returns h + o.
func (h HourlyCost) Add(o HourlyCost) HourlyCost {
	return HourlyCost{Amount: h.Amount + o.Amount, UnpricedBytesPerHr: h.UnpricedBytesPerHr + o.UnpricedBytesPerHr}
}

// Cost returns the cost of sent and received bytes of class c:
// bytes / unit × price per unit, each direction on its own. Bytes of a
// direction with no price are counted as unpriced.
func (p Prices) Cost(c Class, sent, received uint64) Cost {
	cp, ub := p.For(c), p.Unit.Bytes()
	var out Cost
	for _, d := range [2]struct {
		n  uint64
		pr Price
	}{{sent, cp.Sent}, {received, cp.Received}} {
		switch {
		case d.n == 0:
		case d.pr.Known:
			out.Amount += float64(d.n) / ub * d.pr.PerUnit
		default:
			out.UnpricedBytes += d.n
		}
	}
	return out
}

// PerHour returns the cost per hour of class c at sentRate and
// receivedRate (bytes per second): rate × 3600 / unit × price.
func (p Prices) PerHour(c Class, sentRate, receivedRate float64) HourlyCost {
	cp, ub := p.For(c), p.Unit.Bytes()
	var out HourlyCost
	for _, d := range [2]struct {
		r  float64
		pr Price
	}{{sentRate, cp.Sent}, {receivedRate, cp.Received}} {
		perHr := d.r * 3600
		switch {
		case !(perHr > 0):
		case d.pr.Known:
			out.Amount += perHr / ub * d.pr.PerUnit
		default:
			out.UnpricedBytesPerHr += perHr
		}
	}
	return out
}
