package topology

import "errors"

// NetemFlags are the values of `netem set`'s flags as typed; "" is unset.
type NetemFlags struct {
	Delay, Jitter, Loss, Rate string
}

// ParseNetemFlags reads `netem set`'s flags with the parsers of a file's
// netem: block, so the command line and the file accept exactly the same
// values: finite, and inside what the kernel takes.
func ParseNetemFlags(f NetemFlags) (*Netem, error) {
	n := &Netem{}
	var err error
	if f.Delay != "" {
		if n.Delay, err = parseDuration("--delay", f.Delay); err != nil {
			return nil, err
		}
	}
	if f.Jitter != "" {
		if f.Delay == "" {
			return nil, errors.New("--jitter needs a --delay")
		}
		if n.Jitter, err = parseDuration("--jitter", f.Jitter); err != nil {
			return nil, err
		}
	}
	if f.Loss != "" {
		if n.LossPct, err = parsePercent("--loss", f.Loss); err != nil {
			return nil, err
		}
	}
	if f.Rate != "" {
		if n.RateBits, err = parseRate("--rate", f.Rate); err != nil {
			return nil, err
		}
	}
	if f == (NetemFlags{}) {
		return nil, errors.New("netem set needs at least one of --delay, --jitter, --loss, --rate")
	}
	return n, nil
}
