#!/bin/sh
# Writes its first argument and the build time's date.
echo "$1"
