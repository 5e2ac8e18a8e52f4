// Loaded before every test file: decorators need the metadata polyfill.
import 'reflect-metadata';
