//go:build !linux

package main

// Huge pages are advised on Linux only (hugepages_linux.go); elsewhere the heap keeps the
// pages the system gives it.

func reserveHugeHeap(int) {}

func adviseHeapHugePages() uint64 { return 0 }
