module github.com/shipsafe/shipsafe/bench/flags/jsonlogicbase

go 1.26.8

require (
	github.com/barkimedes/go-deepcopy v0.0.0-20220514131651-17c30cfc62df // indirect
	github.com/diegoholiveira/jsonlogic/v3 v3.5.1 // indirect
	github.com/spaolacci/murmur3 v1.1.0 // indirect
)
