package main

import "netriage/views/output"

// The output records the tests decode, by the names they had here.
type (
	flowsJSON = output.FlowsRecord
	flowJSON  = output.FlowRecord
)

type whoRecord = output.WhoRecord
