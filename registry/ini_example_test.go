package registry_test

import (
	"fmt"

	"github.com/regwasm/regwasm/registry"
)

// The config registry: defaults preset in variables, read with Get, changed with Update.
// Each update is a new rotated file, synced before the old one is deleted.
func ExampleINIStore() {
	st := &registry.MemStorage{}
	conf, err := registry.NewINIStore(st, registry.ConfigBase)
	if err != nil {
		panic(err)
	}
	maxURL, enabled := 1024, true // defaults
	entries := []registry.Entry{
		registry.LongEntry("max URL length", &maxURL),
		registry.BoolEntry("enabled", &enabled),
	}
	if err := conf.Get("registry", entries); err != nil { // no file yet: defaults stay
		panic(err)
	}
	maxURL = 2048
	if err := conf.Update("registry", entries); err != nil {
		panic(err)
	}
	f, choice, err := conf.Read()
	if err != nil {
		panic(err)
	}
	fmt.Println(choice)
	f.Enumerate(func(section string) bool { fmt.Printf("[%s]\n", section); return false },
		func(_, key, value string) { fmt.Printf("%s=%s\n", key, value) })
	// Output:
	// registry.conf.1 (found .1)
	// [registry]
	// max URL length=2048
	// enabled=1
}
