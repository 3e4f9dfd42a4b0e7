package host_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/google/uuid"
	"github.com/regwasm/regwasm/host"
)

// A Go program embeds the registry in a few lines: open a directory, record accesses, read
// the answers.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "regwasm-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	reg, err := host.Open(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()

	agent1 := uuid.MustParse("5e1f2a3b-0000-4000-8000-000000000001")
	agent2 := uuid.MustParse("5e1f2a3b-0000-4000-8000-000000000002")
	// A browser without a cookie reaches an agent: the registry makes it a new person.
	res, err := reg.Access(ctx, uuid.Nil, agent1, "http://agent1:19999/", "agent1")
	if err != nil {
		log.Fatal(err)
	}
	// The same person (res.Person.String() is the cookie) on another agent: the answer
	// lists both, newest first (netdata's order).
	res, err = reg.Access(ctx, res.Person, agent2, "http://agent2:19999/", "agent2")
	if err != nil {
		log.Fatal(err)
	}
	for _, u := range res.URLs {
		fmt.Println(u.Name, u.URL, u.Usages)
	}
	st, err := reg.Stats(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.Persons, "person,", st.Machines, "machines,", st.Accesses, "accesses")
	// Output:
	// agent2 http://agent2:19999/ 1
	// agent1 http://agent1:19999/ 1
	// 1 person, 2 machines, 2 accesses
}
