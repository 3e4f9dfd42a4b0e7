package registry_test

import (
	"fmt"

	"github.com/regwasm/regwasm/registry"
)

// A dashboard's first visit: no cookie, so the registry makes a person; the second visit
// brings the person back and lists the machines they used.
func Example() {
	r := registry.New(registry.Config{Hostname: "demo"})
	const machine = "5f8b2f9e-6d3a-4a8e-9c1b-2f4e6a8d0c1e"

	res, _ := r.Do(&registry.Request{Op: registry.OpAccess, When: 1700000000,
		Machine: []byte(machine), URL: []byte("http://box:19999/"), Arg: []byte("box")}, nil)
	person := res.Person.String()

	res, body := r.Do(&registry.Request{Op: registry.OpAccess, When: 1700000060,
		Person: []byte(person), Machine: []byte(machine), URL: []byte("http://box:19999/"), Arg: []byte("box")}, nil)
	fmt.Println(res.Status, res.Person.String() == person)
	fmt.Printf("%s\n", body[len(`{"action":"access","status":"ok","hostname":"demo","machine_guid":"","person_guid":"`)+36+2:])
	st := r.Stats()
	fmt.Println(st.Persons, st.Machines, st.URLs, st.Accesses)
	// Output:
	// 200 true
	// "urls":[["5f8b2f9e-6d3a-4a8e-9c1b-2f4e6a8d0c1e","http://box:19999/",1700000060000,2,"box",0]]}
	// 1 1 1 2
}
