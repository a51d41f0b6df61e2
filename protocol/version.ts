/** MEZZO_VERSION is the release of this code base. */
export const MEZZO_VERSION = '0.1.0';
