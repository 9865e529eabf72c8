// Package manifest reads shipsafe manifests: it decodes YAML or JSON documents strictly into the
// api/v1alpha1 types (Decode, DecodeAll, Parse, LoadPath), keeping each field's line for error
// messages, and validates them (Validate*) with the field, value and rule named in every error.
// Analysis conditions are compiled in one place (CompileCondition), so what validates is what runs.
package manifest
