// Command goregexp-oracle answers, with Go's own regexp package, what chartgen's Go-regexp
// emulation must answer: one JSON case per input line ({"p": pattern, "s": text, "r":
// replacement}), one JSON result per output line. Built and run by chartgen/tests/goregexp.rs.
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
)

type input struct {
	P string `json:"p"`
	S string `json:"s"`
	R string `json:"r"`
}

type result struct {
	Err     string   `json:"err,omitempty"`
	Match   bool     `json:"match"`
	All     [][]int  `json:"all"`
	Two     [][]int  `json:"two"`
	Split   []string `json:"split"`
	Split2  []string `json:"split2"`
	Repl    string   `json:"repl"`
	Literal string   `json:"literal"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for in.Scan() {
		var c input
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			panic(err)
		}
		var r result
		re, err := regexp.Compile(c.P)
		if err != nil {
			r.Err = err.Error()
		} else {
			r.Match = re.MatchString(c.S)
			r.All = re.FindAllStringIndex(c.S, -1)
			r.Two = re.FindAllStringIndex(c.S, 2)
			r.Split = re.Split(c.S, -1)
			r.Split2 = re.Split(c.S, 2)
			r.Repl = re.ReplaceAllString(c.S, c.R)
			r.Literal = re.ReplaceAllLiteralString(c.S, c.R)
		}
		if err := enc.Encode(r); err != nil {
			panic(err)
		}
	}
	if err := in.Err(); err != nil {
		panic(err)
	}
}
