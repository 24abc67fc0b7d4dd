// Package replpb holds the protobuf wire messages of the replication stream (generated).
package replpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative replication.proto handover.proto
