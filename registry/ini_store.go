package registry

// ConfigBase is the base name of the config registry: files registry.conf.1, .2 and .3.
const ConfigBase = "registry.conf"

// INIStore is an [INI] config registry kept crash-safely by a [Rotation] that verifies
// files with [VerifyINI]. Rabbit's lifecycle maps onto it as follows:
//
//	registry_prep_read    INIStore.Read: choose, verify and parse the current file
//	registry_read         INI.Read
//	registry_enumerate    INI.Enumerate
//	registry_finish_read  nothing: the file is in memory
//	registry_prep_write   INIStore.Read
//	registry_write        INI.Write (in memory; any number of sections)
//	registry_finish_write INIStore.Write: write, sync, then delete the old file
//	registry_get          INIStore.Get
//	registry_update       INIStore.Update
type INIStore struct {
	rot *Rotation
}

// NewINIStore returns the INI registry base (usually [ConfigBase]) over st.
func NewINIStore(st Storage, base string) (*INIStore, error) {
	rot, err := NewRotation(st, base, VerifyINI)
	if err != nil {
		return nil, err
	}
	return &INIStore{rot: rot}, nil
}

// Rotation returns the rotation that keeps the files.
func (s *INIStore) Rotation() *Rotation { return s.rot }

// Read returns the current file, empty if there is none yet (see [Rotation.Read]).
func (s *INIStore) Read() (*INI, Choice, error) {
	data, c, err := s.rot.Read()
	switch {
	case err != nil:
		return nil, c, err
	case c.Ext == 0:
		return &INI{}, c, nil
	}
	f, err := ParseINI(data)
	if err != nil {
		return nil, c, err
	}
	return f, c, nil
}

// Write stores f as the generation after prev (see [Rotation.Write]).
func (s *INIStore) Write(prev Choice, f *INI) (Choice, error) {
	return s.rot.Write(prev, f.Bytes())
}

// Get reads section's entries from the current file; variables of missing keys, and all of
// them when there is no file yet, are left untouched.
func (s *INIStore) Get(section string, entries []Entry) error {
	f, _, err := s.Read()
	if err != nil {
		return err
	}
	return f.Read(section, entries)
}

// Update writes section's entries (see [INI.Write]) into a new generation of the file.
// If the entries are invalid nothing is written.
func (s *INIStore) Update(section string, entries []Entry) error {
	f, c, err := s.Read()
	if err != nil {
		return err
	}
	if err := f.Write(section, entries); err != nil {
		return err
	}
	_, err = s.Write(c, f)
	return err
}
