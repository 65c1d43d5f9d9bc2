package links

import (
	"fmt"
	"net"
)

// InterfaceNames lists the names of the interfaces of the caller's
// network namespace, in the kernel's order.
func InterfaceNames() ([]string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	names := make([]string, 0, len(ifs))
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	return names, nil
}
