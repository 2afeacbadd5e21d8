"""One router per feature; each handler translates HTTP to one engine call and back."""
