// How many items one page of a list holds: shared by the lists themselves and the gateway's cost estimates.
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
