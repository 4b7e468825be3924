// Package envsweep lists the environment variable names a tool may read,
// so that a scenario can plant a distinct value in each and find the ones
// that leave the machine: names the tool's installed code mentions
// (process.env.X in JavaScript, os.environ / getenv in Python, upper-case
// names among a native binary's strings), the well-known families (CI
// vendors, agent and IDE markers, locale) and the run's own environment.
// Nobody needs to know in advance which variables a tool reads.
package envsweep
