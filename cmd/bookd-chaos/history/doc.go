// Package history records what chaos clients asked of a bookd cluster and
// what they were told, and checks the record for linearizability with
// porcupine against a model of the booking state.
//
// Every operation touches one counter: the places of a general-admission
// event, or a single seat (a counter of capacity one). Counters are
// independent, so the checker partitions the history by counter and checks
// each part on its own, which keeps checking fast.
//
// Time is the subtle part. A hold expires when the state machine's clock, the
// latest leader-stamped command time, reaches its expiry. The model never
// assumes a clock: it bounds the clock of each command by the client's
// invoke and return times widened by the largest clock offsets the nemesis
// gave any node, learns the exact clock from each hold's expiry, and lets
// holds expire lazily, in expiry order, when an observation requires it.
// A refusal the leader may have given from its state without a command (a
// BatchWrite first attempt) observes the state like a read, and like a read
// it tells nothing of the clock.
package history
