import { Module } from '@nestjs/common';
import { MediaLibrary } from './media-library.js';

/** Images uploaded on the desk: stored at the widths pages need, and served. */
@Module({ providers: [MediaLibrary], exports: [MediaLibrary] })
export class MediaModule {}
