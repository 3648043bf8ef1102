"""Export jobs: queued, claimed by workers, written with the row formats, kept until they expire."""
