// Command mkfixture writes a benchmark configuration directory for
// bench/run: main.hcl and customers.csv with n recipients and, with -full, a
// state in which every send was accepted (see package bench/fixture).
// -messages 3 adds the follow-ups ask (a question) and code (a text to
// those who answered "yes"); with -full the state then also holds the
// questions, accepted, and the answers of a share -replied of the
// recipients. -variants makes hello two variants of equal weight, with a
// 5% holdout, to measure the assignment (with -full, every send but the
// holdout's is recorded, with its variant).
//
//	go run ./bench/mkfixture -n 1000000 -full DIR
//	go run ./bench/mkfixture -n 1000000 -messages 3 -replied 0.3 -full DIR
package main
